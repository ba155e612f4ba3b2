"""drivers.registry: built-ins, kind checks, options validated once and handed over parsed."""

from __future__ import annotations

import pytest

from drivers import registry
from drivers.base import Device
from drivers.errors import DeviceConfigError
from drivers.printer.escpos_driver import EscposOptions, EscposPrinter


def test_every_builtin_driver_loads_with_its_kind_and_options() -> None:
    for name, target in registry.BUILTIN.items():
        if name.startswith("cups"):
            continue  # needs the optional pycups extra (tests/drivers/printer/test_cups.py)
        cls = registry.driver_class(name)
        assert cls.name == name and cls.kind, target
        assert issubclass(cls, Device), f"{name} should reuse drivers.base.Device"
        assert hasattr(cls, "Options")


def test_build_validates_once_and_hands_the_parsed_options(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = EscposOptions.model_validate.__func__  # type: ignore[attr-defined]

    def counting(cls: type[EscposOptions], obj: object, *args: object, **kwargs: object) -> EscposOptions:
        calls.append(obj)
        return original(cls, obj, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(EscposOptions, "model_validate", classmethod(counting))
    printer = registry.build("printer-k1", "ticket_printer", "escpos", "socket://h:9100",
                             {"paper_mm": 58, "baudrate": 19200})
    assert isinstance(printer, EscposPrinter) and isinstance(printer.options, EscposOptions)
    assert len(calls) == 1  # the registry's, not again in __init__
    assert printer.options.paper_mm == 58 and printer.serial_options()["baudrate"] == 19200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("printer-k1", "ticket_printer", "nope", "socket://h:1", {}), "unknown driver 'nope'"),
        (("printer-k1", "led_display", "escpos", "socket://h:1", {}), "is for 'ticket_printer'"),
        (("printer-k1", "ticket_printer", "escpos", "socket://h:1", {"paper_mm": 70}), "paper_mm"),
        (("printer-k1", "ticket_printer", "escpos", "socket://h:1", {"baudrate": 1234}), "baudrate"),
        (("printer-k1", "ticket_printer", "escpos", "socket://h:1", {"status": "maybe"}), "status"),
    ],
)
def test_problems_name_the_device(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(DeviceConfigError, match=message) as err:
        registry.build(*args)  # type: ignore[arg-type]
    assert "'printer-k1'" in str(err.value)


def test_simulators_are_found_by_driver_name() -> None:
    from drivers.printer.simulator import EscposSimulator

    assert registry.simulator_class("escpos") is EscposSimulator
    with pytest.raises(DeviceConfigError):
        registry.simulator_class("espeak")
