"""The BX driver against its simulator, over socket:// and a pty."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.contract import LedDisplay, LedText
from drivers.errors import ProtocolError, TransportError, TransportTimeout
from drivers.health import DeviceState
from drivers.led import codec
from drivers.led.driver import BxDisplay
from drivers.led.simulator import BxSimulator
from drivers.registry import build, simulator_class

FAST = {"address": 1, "width": 128, "ping_interval": 0.1, "ack_timeout": 0.2, "retries": 1}


@pytest.fixture(params=["socket", "pty"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[BxSimulator, BxDisplay]]:
    sim = BxSimulator("led-w3", {"address": 1})
    url = await sim.start() if request.param == "socket" else await sim.start_pty()
    display = BxDisplay("led-w3", url, FAST)
    await display.open()
    assert await display.wait_ready(3.0)
    yield sim, display
    await display.close()
    await sim.stop()


async def test_show_and_clear(pair: tuple[BxSimulator, BxDisplay]) -> None:
    sim, display = pair
    assert isinstance(display, LedDisplay)
    await display.show(LedText("请A001号到3号窗口", color="green", effect="scroll_left"))
    assert sim.state()["areas"] == {0: "请A001号到3号窗口"}
    assert sim.details[0]["raw"].startswith("\\C2") and sim.details[0]["effect"] == "scroll_left"
    assert sim.details[0]["width"] == 128
    await display.clear()
    assert sim.state()["areas"] == {}
    assert display.health.state == DeviceState.READY


async def test_silent_display_goes_offline_and_comes_back(pair: tuple[BxSimulator, BxDisplay]) -> None:
    sim, display = pair
    sim.inject("silence")
    with pytest.raises(TransportError):
        await display.show(LedText("A002"))
    assert display.health.state == DeviceState.OFFLINE
    assert 0 not in sim.state()["areas"]
    sim.inject(None)
    display.backoff.initial = 0.05
    for _ in range(100):  # bounded: the supervisor reconnects with backoff and pings
        if display.health.available:
            break
        await asyncio.sleep(0.05)
    assert display.health.available
    await display.show(LedText("A003"))
    assert sim.state()["areas"][0] == "A003"


async def test_corrupt_replies_are_a_protocol_fault(pair: tuple[BxSimulator, BxDisplay]) -> None:
    sim, display = pair
    sim.inject("corrupt")
    with pytest.raises(ProtocolError):
        await display.show(LedText("A004"))
    assert display.health.state == DeviceState.FAULT
    assert sim.state()["areas"][0] == "A004"  # the frame arrived; only the reply is bad
    sim.inject(None)
    await display.show(LedText("A005"))
    assert display.health.state == DeviceState.READY


async def test_broadcast_with_reply_is_the_golden_ack() -> None:
    sim = BxSimulator("led", {"address": 9})
    reply = await sim._apply(codec.decode(codec.ping(codec.BROADCAST_REPLY)))
    assert reply == bytes.fromhex(
        "A5 A5 A5 A5 A5 A5 A5 A5 00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 00 00 00 00 14 AC 5A"
    )
    assert await sim._apply(codec.decode(codec.ping(3))) is None  # another controller's address


def test_registry_builds_driver_and_simulator() -> None:
    device = build("led-w1", "led_display", "onbon_bx", "socket://127.0.0.1:1", {"address": 2, "width": 96})
    assert isinstance(device, BxDisplay) and device.options.width == 96
    assert simulator_class("onbon_bx") is BxSimulator


def test_text_frame_without_colour_codes() -> None:
    display = BxDisplay("led", "socket://127.0.0.1:1", {"color_codes": False, "areas": {1: {"x": 64, "width": 64}}})
    [block] = codec.parse_dynamic_text(codec.decode(display.text_frame(LedText("暂停服务", area=1))))
    assert block.text.decode("gb2312") == "暂停服务"
    assert (block.area.x, block.area.width, block.area.align) == (64, 64, "center")



class ScriptedTransport:
    """Answers each write with the next scripted chunk; silence afterwards."""

    def __init__(self, replies: list[bytes]) -> None:
        self.replies = replies
        self.written: list[bytes] = []
        self.pending: list[bytes] = []

    async def write(self, data: bytes, timeout: float = 2.0) -> None:
        self.written.append(data)
        if self.replies:
            self.pending.append(self.replies.pop(0))

    async def read(self, max_bytes: int = 4096, timeout: float = 2.0) -> bytes:
        if self.pending:
            return self.pending.pop(0)
        await asyncio.sleep(min(timeout, 0.01))
        raise TransportTimeout("silent")


async def test_replies_from_other_controllers_are_not_acks() -> None:
    display = BxDisplay("led", "socket://127.0.0.1:1", {**FAST, "address": 2, "retries": 1})
    other = ScriptedTransport([codec.ack(src=7), codec.ack(src=7)])
    with pytest.raises(TransportTimeout):
        await display._exchange(other, codec.ping(2))  # type: ignore[arg-type]
    assert len(other.written) == 2  # tried, retried, gave up
    mine = ScriptedTransport([codec.ack(src=7) + codec.ack(src=2)])
    assert (await display._exchange(mine, codec.ping(2))).src == 2  # type: ignore[arg-type]
    vendor = ScriptedTransport([codec.ack()])  # the vendor sample answers from 0xFFFE
    assert (await display._exchange(vendor, codec.ping(2))).src == 0xFFFE  # type: ignore[arg-type]
