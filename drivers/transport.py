"""Byte streams to devices, opened from a URL.

Supported URLs:

- ``socket://host:port`` — TCP (network printers on 9100, LED controllers, simulators)
- ``/dev/ttyUSB0`` or ``serial:///dev/ttyUSB0`` — a serial port (pyserial-asyncio-fast),
  options ``baudrate``, ``bytesize``, ``parity``, ``stopbits``; a pty slave path works too
- ``rfc2217://…`` and other pyserial URL handlers go through pyserial as well
- ``file:///dev/usb/lp0`` — a device file (USB printer class), opened read/write
- ``memory://name`` — an in-memory device from :mod:`drivers.testing` (tests only)

Serial framing (baud rate, byte size, parity, stop bits, RTS/CTS) is one options
block, :class:`SerialOptions`, that every serial driver's options inherit; the
driver's values override a ``?baudrate=`` query in the URL.

This module is the one boundary where ``OSError`` and ``serial.SerialException``
become :class:`drivers.errors.TransportError`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

from drivers.errors import DeviceConfigError, TransportError, TransportTimeout

log = logging.getLogger("hallq.transport")
trace_log = logging.getLogger("hallq.trace")

DEFAULT_TIMEOUT = 2.0

# pyserial URL handlers passed through as URLs (rfc2217://host:port and friends).
PYSERIAL_SCHEMES = ("rfc2217", "spy", "alt", "hwgrep")
# Every scheme ``open_transport`` understands; "" is a bare device path (/dev/ttyUSB0).
SCHEMES = ("socket", "serial", "file", "memory", "", *PYSERIAL_SCHEMES)

BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


class SerialOptions(BaseModel):
    """Serial framing, inherited by every serial driver's options (ignored on socket:// and file://)."""

    model_config = ConfigDict(extra="forbid")

    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: float = 1
    rtscts: bool = False

    @field_validator("baudrate")
    @classmethod
    def _standard_rate(cls, value: int) -> int:
        if value not in BAUDRATES:
            raise ValueError(f"baudrate must be one of {', '.join(map(str, BAUDRATES))}")
        return value

    @field_validator("stopbits")
    @classmethod
    def _stop_bits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise ValueError("stopbits must be 1, 1.5 or 2")
        return value

    def serial_kwargs(self) -> dict[str, Any]:
        """The pyserial keyword arguments of this framing."""
        return {
            "baudrate": self.baudrate, "bytesize": self.bytesize, "parity": self.parity,
            "stopbits": self.stopbits, "rtscts": self.rtscts,
        }  # fmt: skip


def check_url(url: str) -> None:
    """Raise DeviceConfigError unless ``url`` is a transport URL ``open_transport`` can open (no I/O)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DeviceConfigError(f"bad URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise DeviceConfigError(
            f"bad URL {url!r}: unsupported scheme {scheme!r} (use socket://host:port, /dev/… or file:///dev/…)"
        )
    if scheme == "socket" and (not parts.hostname or port is None):
        raise DeviceConfigError(f"bad URL {url!r}: expected socket://host:port")
    if scheme in ("", "serial", "file") and not parts.path.startswith("/"):
        raise DeviceConfigError(f"bad URL {url!r}: expected an absolute device path such as /dev/ttyUSB0")
    if scheme == "memory" and not parts.netloc:
        raise DeviceConfigError(f"bad URL {url!r}: expected memory://name")


def _hexdump(data: bytes) -> str:
    return data.hex(" ")


class Transport:
    """An open byte stream with timeouts and an optional hex trace."""

    def __init__(
        self,
        url: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter | Any,
        *,
        trace: bool = False,
    ) -> None:
        self.url = url
        self._reader = reader
        self._writer = writer
        self.trace = trace
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once closed or after the peer went away."""
        return self._closed or self._reader.at_eof()

    async def write(self, data: bytes, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Write all bytes and wait until they are handed to the OS."""
        if self._closed:
            raise TransportError(f"{self.url}: closed")
        if self.trace:
            trace_log.info("%s >> %s", self.url, _hexdump(data))
        try:
            self._writer.write(data)
            await asyncio.wait_for(self._writer.drain(), timeout)
        except TimeoutError as exc:
            raise TransportTimeout(f"{self.url}: write timed out") from exc
        except Exception as exc:  # OSError, SerialException, ConnectionResetError
            raise TransportError(f"{self.url}: write failed: {exc}") from exc

    async def read(self, max_bytes: int = 4096, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Read at least one byte (up to ``max_bytes``); TransportTimeout when silent."""
        try:
            data = await asyncio.wait_for(self._reader.read(max_bytes), timeout)
        except TimeoutError as exc:
            raise TransportTimeout(f"{self.url}: no answer within {timeout:g}s") from exc
        except Exception as exc:
            raise TransportError(f"{self.url}: read failed: {exc}") from exc
        if not data:
            raise TransportError(f"{self.url}: connection closed by the device")
        if self.trace:
            trace_log.info("%s << %s", self.url, _hexdump(data))
        return data

    async def read_exactly(self, n: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Read exactly ``n`` bytes, however they are chunked, within ``timeout`` overall."""
        try:
            data = await asyncio.wait_for(self._reader.readexactly(n), timeout)
        except TimeoutError as exc:
            raise TransportTimeout(f"{self.url}: fewer than {n} bytes within {timeout:g}s") from exc
        except asyncio.IncompleteReadError as exc:
            raise TransportError(f"{self.url}: connection closed after {len(exc.partial)} of {n} bytes") from exc
        except Exception as exc:
            raise TransportError(f"{self.url}: read failed: {exc}") from exc
        if self.trace:
            trace_log.info("%s << %s", self.url, _hexdump(data))
        return data

    async def discard_input(self, quiet: float = 0.01) -> bytes:
        """Throw away stale input (e.g. before a status query); returns what was dropped."""
        dropped = bytearray()
        while True:
            try:
                chunk = await asyncio.wait_for(self._reader.read(4096), quiet)
            except TimeoutError:
                break
            except Exception as exc:
                raise TransportError(f"{self.url}: read failed: {exc}") from exc
            if not chunk:
                break
            dropped += chunk
        if dropped and self.trace:
            trace_log.info("%s << (discarded) %s", self.url, _hexdump(bytes(dropped)))
        return bytes(dropped)

    async def close(self) -> None:
        """Close the stream; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._writer.close()
            wait_closed = getattr(self._writer, "wait_closed", None)
            if wait_closed is not None:
                await asyncio.wait_for(wait_closed(), 1.0)
        except Exception:  # closing a dead stream is not news
            pass


def _serial_kwargs(query: str, options: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"baudrate": 9600}
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        kwargs[key] = value
    kwargs.update(options)
    for key in ("baudrate", "bytesize"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    if "stopbits" in kwargs:
        kwargs["stopbits"] = float(kwargs["stopbits"])
    return kwargs


async def open_transport(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    trace: bool = False,
    serial_options: dict[str, Any] | None = None,
) -> Transport:
    """Open a byte stream to ``url``; raises DeviceConfigError or TransportError."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        if scheme == "socket":
            if not parts.hostname or parts.port is None:
                raise DeviceConfigError(f"{url}: expected socket://host:port")
            reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), timeout)
            return Transport(url, reader, writer, trace=trace)
        if scheme == "file":
            return await _open_device_file(url, parts.path, trace)
        if scheme == "memory":
            from drivers.testing import connect_memory  # test double; never needed in production

            return connect_memory(url, trace=trace)
        if scheme in ("", "serial") or scheme in PYSERIAL_SCHEMES:
            import serial_asyncio_fast  # heavy import, only for serial devices

            port = parts.path if scheme in ("", "serial") else url.split("?", 1)[0]
            if not port:
                raise DeviceConfigError(f"{url}: no serial port path")
            kwargs = _serial_kwargs(parts.query, serial_options or {})
            reader, writer = await asyncio.wait_for(
                serial_asyncio_fast.open_serial_connection(url=port, **kwargs), timeout
            )
            return Transport(url, reader, writer, trace=trace)
    except (DeviceConfigError, TransportError):
        raise
    except TimeoutError as exc:
        raise TransportTimeout(f"{url}: connect timed out") from exc
    except ValueError as exc:
        raise DeviceConfigError(f"{url}: {exc}") from exc
    except Exception as exc:  # OSError, serial.SerialException
        raise TransportError(f"{url}: cannot open: {exc}") from exc
    raise DeviceConfigError(f"{url}: unsupported URL scheme {scheme!r}")


async def _open_device_file(url: str, path: str, trace: bool) -> Transport:
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    reader = asyncio.StreamReader()
    read_file = os.fdopen(fd, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_file)
    write_file = os.fdopen(os.dup(fd), "wb", buffering=0)
    w_transport, w_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, write_file)
    writer = asyncio.StreamWriter(w_transport, w_protocol, reader, loop)
    return Transport(url, reader, writer, trace=trace)


@dataclass
class Backoff:
    """Exponential reconnect delays with jitter: 0.5 s, 1 s, 2 s … capped."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.1
    _attempt: int = field(default=0, init=False)

    def next_delay(self) -> float:
        """The delay before the next attempt."""
        delay = min(self.maximum, self.initial * self.factor**self._attempt)
        self._attempt += 1
        return delay * (1 + random.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        """Start again from the shortest delay after a success."""
        self._attempt = 0
