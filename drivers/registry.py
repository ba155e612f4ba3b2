"""Finding driver classes by name: built-ins plus the ``hallq.drivers`` entry points.

A driver class has ``kind`` (a key of ``drivers.contract.KINDS``), ``name``, an
``Options`` pydantic model, and is built as ``cls(device_id, url, options)`` where
``options`` is already an ``Options`` instance: :func:`build` validates once, here, and
drivers (``drivers.base.Device``) take the parsed object as it is.
Third-party packages register with::

    [project.entry-points."hallq.drivers"]
    mybrand_led = "mybrand.led:Driver"
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from drivers.errors import DeviceConfigError

# name -> "module:Class"; imported lazily so a missing optional extra (pycups) only
# matters to halls that configure that driver.
BUILTIN: dict[str, str] = {
    "escpos": "drivers.printer.escpos_driver:EscposPrinter",
    "cups_raw": "drivers.printer.cups_driver:CupsTicketPrinter",
    "cups": "drivers.printer.cups_driver:CupsDocumentPrinter",
    "sam": "drivers.idcard.driver:SamReader",
    "onbon_bx": "drivers.led.driver:BxDisplay",
    "ff68": "drivers.keypad.driver:Ff68Bus",
    "espeak": "drivers.announcer.espeak:EspeakAnnouncer",
    "clips": "drivers.announcer.clips:ClipAnnouncer",
    "opencv": "drivers.camera.driver:OpenCvCamera",
    "gsm_at": "drivers.gsm.driver:GsmModem",  # SMS modem (短信猫), issue 17
    "serial_scanner": "drivers.scanner.driver:SerialScanner",  # kiosk QR scanner, issue 17
}

# driver name -> its simulator ("module:Class"), used by ``hallq demo`` and ``hallq sim``.
# A simulator class is built as ``cls(device_id, options)`` and implements
# ``drivers.simulator.Simulator``.
SIMULATORS: dict[str, str] = {
    "escpos": "drivers.printer.simulator:EscposSimulator",
    "cups_raw": "drivers.printer.simulator:EscposSimulator",
    "sam": "drivers.idcard.simulator:SamSimulator",
    "onbon_bx": "drivers.led.simulator:BxSimulator",
    "ff68": "drivers.keypad.simulator:Ff68Simulator",
    "opencv": "drivers.camera.simulator:CameraSimulator",
    "gsm_at": "drivers.gsm.simulator:GsmSimulator",
    "serial_scanner": "drivers.scanner.simulator:ScannerSimulator",
}

GROUP = "hallq.drivers"


def _load(target: str, name: str) -> type[Any]:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DeviceConfigError(f"driver {name!r} cannot be loaded: {exc}") from exc
    try:
        cls: type[Any] = getattr(module, attr)
    except AttributeError as exc:
        raise DeviceConfigError(f"driver {name!r}: {module_name} has no {attr}") from exc
    return cls


def available() -> dict[str, str]:
    """Every known driver name and where it lives (entry points override built-ins)."""
    found = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def driver_class(name: str, kind: str | None = None) -> type[Any]:
    """The driver class called ``name``; checks its ``kind`` when given."""
    known = available()
    if name not in known:
        raise DeviceConfigError(f"unknown driver {name!r}; known: {', '.join(sorted(known))}")
    cls = _load(known[name], name)
    if kind is not None and getattr(cls, "kind", None) != kind:
        raise DeviceConfigError(f"driver {name!r} is for {getattr(cls, 'kind', '?')!r} devices, not {kind!r}")
    return cls


def simulator_class(driver: str) -> type[Any]:
    """The simulator class for a driver name."""
    if driver not in SIMULATORS:
        raise DeviceConfigError(f"driver {driver!r} has no simulator")
    return _load(SIMULATORS[driver], driver)


def build(device_id: str, kind: str, name: str, url: str, options: dict[str, Any] | None = None) -> Any:
    """Build one device from its config entry; every problem names the device."""
    try:
        cls = driver_class(name, kind)
        options_model: type[BaseModel] | None = getattr(cls, "Options", None)
        parsed = options_model.model_validate(options or {}) if options_model else (options or {})
        return cls(device_id, url, parsed)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise DeviceConfigError(f"device {device_id!r}: invalid options: {problems}") from exc
    except DeviceConfigError as exc:
        raise DeviceConfigError(f"device {device_id!r}: {exc}") from exc
