"""Errors of the device layer.

The tree::

    DeviceError
    ├── TransportError          the byte stream failed (port gone, refused, reset)
    │   └── TransportTimeout    nothing arrived in time (a silent device)
    ├── ProtocolError           bytes arrived but do not form a valid frame/reply
    │   └── ChecksumError       a frame whose checksum does not match
    ├── DeviceFault             the device answered and reports a fault (paper out …)
    └── DeviceConfigError       bad URL, unknown driver, invalid options

pyserial and OS errors are mapped to TransportError in ``drivers.transport`` only;
drivers above the transport never see ``OSError`` or ``serial.SerialException``.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every device-layer failure."""


class TransportError(DeviceError):
    """The connection to the device failed."""


class TransportTimeout(TransportError):
    """The device did not answer within the timeout."""


class ProtocolError(DeviceError):
    """Bytes arrived that do not follow the device's protocol."""


class ChecksumError(ProtocolError):
    """A frame arrived whose checksum is wrong."""


class DeviceFault(DeviceError):
    """The device reports a named fault (``paper_out``, ``cover_open`` …)."""

    def __init__(self, fault: str, message: str | None = None) -> None:
        super().__init__(message or fault)
        self.fault = fault


class DeviceConfigError(DeviceError):
    """A device entry cannot be built: bad URL, unknown driver, invalid options."""


# The old name, still imported by server code and tests outside drivers/; same class.
ConfigurationError = DeviceConfigError
