"""Serial framing from the options (57600 over a pty) and retries on busy/CRC-error replies."""

from __future__ import annotations

import os
import termios
from collections.abc import AsyncIterator

import pytest

from drivers.contract import LedText
from drivers.errors import ProtocolError
from drivers.health import PROTOCOL_ERROR, DeviceState
from drivers.led.driver import BxDisplay
from drivers.led.simulator import BxSimulator
from drivers.registry import build

FAST = {"address": 1, "width": 128, "ping_interval": 5.0, "ack_timeout": 0.3, "retries": 2, "retry_delay": 0.01}


def line_speed(path: str) -> int:
    """The speed the pty's line discipline was set to (pyserial sets it on open)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return int(termios.tcgetattr(fd)[4])
    finally:
        os.close(fd)


@pytest.mark.parametrize(("baudrate", "speed"), [(57600, termios.B57600), (9600, termios.B9600)])
async def test_controller_at_the_configured_baud_rate_is_driven_over_a_pty(baudrate: int, speed: int) -> None:
    sim = BxSimulator("led-w1", {"address": 1})
    path = await sim.start_pty()
    display = build("led-w1", "led_display", "onbon_bx", path, {**FAST, "baudrate": baudrate})
    await display.open()
    try:
        assert await display.wait_ready(3.0)
        assert display.serial_options()["baudrate"] == baudrate
        assert line_speed(path) == speed  # the port really runs at the configured rate
        await display.show(LedText("请A001号到1号窗口"))
        assert sim.state()["areas"] == {0: "请A001号到1号窗口"}
    finally:
        await display.close()
        await sim.stop()


@pytest.fixture(params=["socket", "pty"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[BxSimulator, BxDisplay]]:
    sim = BxSimulator("led-w3", {"address": 1})
    url = await sim.start() if request.param == "socket" else await sim.start_pty()
    display = BxDisplay("led-w3", url, {**FAST, "baudrate": 57600})
    await display.open()
    assert await display.wait_ready(3.0)
    yield sim, display
    await display.close()
    await sim.stop()


@pytest.mark.parametrize("error", ["busy", "crc"])
async def test_transient_controller_errors_are_retried(pair: tuple[BxSimulator, BxDisplay], error: str) -> None:
    sim, display = pair
    await sim.act("fail_next", {"count": 2, "error": error})
    await display.show(LedText("A010"))  # third try (retries: 2) is accepted
    assert sim.state()["areas"] == {0: "A010"} and sim.errors_sent == 2
    assert display.health.counters["controller_retries"] == 2
    assert display.health.state == DeviceState.READY


async def test_a_controller_busy_beyond_the_retries_is_a_fault(pair: tuple[BxSimulator, BxDisplay]) -> None:
    sim, display = pair
    await sim.act("fail_next", {"count": 3, "error": "busy"})
    with pytest.raises(ProtocolError, match="busy"):
        await display.show(LedText("A011"))
    assert sim.errors_sent == 3 and 0 not in sim.state()["areas"]
    assert display.health.state == DeviceState.FAULT and PROTOCOL_ERROR in display.health.faults
    await display.show(LedText("A012"))  # the next request goes through again
    assert display.health.state == DeviceState.READY


async def test_other_controller_errors_are_not_retried(pair: tuple[BxSimulator, BxDisplay]) -> None:
    sim, display = pair
    await sim.act("fail_next", {"count": 1, "error": 0x02})  # no such command: sending again cannot help
    with pytest.raises(ProtocolError, match="no such command"):
        await display.show(LedText("A013"))
    assert sim.errors_sent == 1


def test_protocol_option() -> None:
    from drivers.errors import ConfigurationError

    assert build("led", "led_display", "onbon_bx", "socket://h:1", {"protocol": "bx5k"}).options.protocol == "bx5k"
    assert build("led", "led_display", "onbon_bx", "socket://h:1", {"protocol": "bx6"}).options.protocol == "bx6"
    with pytest.raises(ConfigurationError, match="protocol"):
        build("led", "led_display", "onbon_bx", "socket://h:1", {"protocol": "bx7"})
