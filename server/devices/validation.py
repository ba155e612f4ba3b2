"""Checking the ``devices:`` entries of a hall config before anything opens.

``validate_devices`` builds every enabled device through ``drivers.registry.build``
(no I/O) and checks its URL, so an unknown driver, a wrong kind, bad options or a
malformed URL is one clear startup error that names each device. ``hallq
check-config`` calls it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers import registry
from drivers.base import ConnectedDevice
from drivers.errors import ConfigurationError
from drivers.transport import SCHEMES, check_url
from server.config import DeviceConfig, HallConfig

# Schemes ``drivers.transport.open_transport`` understands (kept under its old name).
TRANSPORT_SCHEMES = SCHEMES
# Stands in for a simulator URL while validating (never connected to).
_PLACEHOLDER = "socket://127.0.0.1:9"


def is_sim_url(url: str) -> bool:
    """True for ``sim`` and ``sim:<variant>`` (demo simulators)."""
    return url == "sim" or url.startswith("sim:")


@dataclass
class DeviceSpec:
    """One validated device entry; ``url`` includes a ``--device`` override."""

    config: DeviceConfig
    url: str
    effective_url: str | None = None  # the URL actually opened (a simulator's in demo mode)

    @property
    def id(self) -> str:
        """The device id."""
        return self.config.id

    @property
    def kind(self) -> str:
        """The device kind (``ticket_printer`` …)."""
        return self.config.kind

    @property
    def driver(self) -> str:
        """The driver name."""
        return self.config.driver

    @property
    def binding(self) -> dict[str, Any]:
        """Where the device is bound: kiosk, window(s) or the hall."""
        c = self.config
        out: dict[str, Any] = {}
        if c.kiosk is not None:
            out["kiosk"] = c.kiosk
        if c.window is not None:
            out["window"] = c.window
        if c.windows:
            out["windows"] = list(c.windows)
        if c.hall:
            out["hall"] = True
        return out

    def build(self, url: str) -> Any:
        """Build the driver object for ``url`` (no I/O)."""
        return registry.build(self.id, self.kind, self.driver, url, dict(self.config.options))


def check_transport_url(url: str) -> None:
    """Raise ConfigurationError unless ``url`` is a transport URL (see ``drivers.transport.check_url``)."""
    check_url(url)


def _check_url(cls: type[Any], url: str) -> None:
    check = getattr(cls, "check_url", None)
    if callable(check):
        check(url)
    elif isinstance(cls, type) and issubclass(cls, ConnectedDevice):
        check_transport_url(url)


def validate_device(entry: DeviceConfig, url: str, *, allow_sim: bool) -> DeviceSpec:
    """Validate one entry; raises ConfigurationError naming the device."""
    spec = DeviceSpec(entry, url)
    try:
        if is_sim_url(url):
            if not allow_sim:
                raise ConfigurationError(f"url {url!r} only works in demo mode (hallq demo / --demo)")
            registry.simulator_class(entry.driver)
            spec.build(_PLACEHOLDER)
        else:
            cls = registry.driver_class(entry.driver, entry.kind)
            _check_url(cls, url)
            spec.build(url)
    except ConfigurationError as exc:
        message = str(exc)
        if f"{entry.id!r}" not in message:
            message = f"device {entry.id!r}: {message}"
        raise ConfigurationError(message) from exc
    return spec


def validate_devices(
    config: HallConfig, *, overrides: dict[str, str] | None = None, allow_sim: bool = True
) -> list[DeviceSpec]:
    """Every enabled device, validated; one ConfigurationError lists all problems."""
    overrides = dict(overrides or {})
    problems: list[str] = []
    known = {d.id for d in config.devices}
    for device_id in sorted(set(overrides) - known):
        problems.append(f"--device {device_id}=…: no device {device_id!r} in the config")
    specs: list[DeviceSpec] = []
    for entry in config.devices:
        if not entry.enabled:
            continue
        try:
            specs.append(validate_device(entry, overrides.get(entry.id, entry.url), allow_sim=allow_sim))
        except ConfigurationError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigurationError("device configuration:\n  " + "\n  ".join(problems))
    return specs
