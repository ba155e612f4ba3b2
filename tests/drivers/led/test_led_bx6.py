"""The BX driver with ``protocol: bx6`` against the simulator, over socket:// and a pty.

Every call must reach the simulator as a valid 6th-generation (0xF0) A7 06 frame, and the
text is decoded back from it (frame layout: docs/protocols/onbon-bx.md, "6th generation (0xF0)").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.contract import LedText
from drivers.health import DeviceState
from drivers.led import codec, codec6
from drivers.led.driver import BxDisplay
from drivers.led.simulator import BxSimulator
from drivers.registry import build
from tests.support import until

BX6 = {"address": 1, "width": 128, "protocol": "bx6", "ping_interval": 0.1, "ack_timeout": 0.2,
       "areas": {1: {"x": 64, "width": 64}}}  # fmt: skip


@pytest.fixture(params=["socket", "pty"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[BxSimulator, BxDisplay]]:
    sim = BxSimulator("led-w6", {"address": 1})
    url = await sim.start() if request.param == "socket" else await sim.start_pty()
    display = build("led-w6", "led_display", "onbon_bx", url, BX6)
    assert isinstance(display, BxDisplay)
    await display.open()
    assert await display.wait_ready(3.0)
    yield sim, display
    await display.close()
    await sim.stop()


async def test_every_call_arrives_as_a_valid_0xf0_frame(pair: tuple[BxSimulator, BxDisplay]) -> None:
    sim, display = pair
    await display.show(LedText("请A001号到3号窗口", color="green", effect="scroll_left"))
    await until(lambda: sim.frames6 == 1)
    assert sim.state()["areas"] == {0: "请A001号到3号窗口"}
    assert sim.details[0]["raw"].startswith("\\C2") and sim.details[0]["protocol"] == "bx6"
    assert (sim.details[0]["effect"], sim.details[0]["width"]) == ("scroll_left", 128)

    await display.show(LedText("暂停服务", area=1))
    await until(lambda: sim.frames6 == 2)
    assert sim.state()["areas"] == {0: "请A001号到3号窗口", 1: "暂停服务"}
    assert (sim.details[1]["x"], sim.details[1]["width"]) == (64, 64)

    await display.clear()  # A7 06 deleting every area the driver knows
    await until(lambda: sim.frames6 == 3)
    assert sim.state()["areas"] == {}
    # nothing else was sent (no 5th-generation ping) and nothing was rejected
    assert (sim.frames, sim.rejected) == (3, 0)
    assert display.health.state == DeviceState.READY


def test_bx6_frames_decode_back() -> None:
    display = BxDisplay("led", "socket://127.0.0.1:1", {**BX6, "color_codes": False})
    request = codec6.parse_dynamic_text(codec6.decode(display.text_frame(LedText("A012 请到1号窗口", area=1))))
    [block] = request.areas
    assert block.text.decode("gb2312") == "A012 请到1号窗口"
    assert (block.area.area_id, block.area.x, block.area.width, block.area.align) == (1, 64, 64, "center")
    assert codec6.parse_dynamic_text(codec6.decode(display.clear_frame())).deleted == (0, 1)



async def test_one_simulator_link_speaks_both_generations() -> None:
    sim = BxSimulator("led-both", {"address": 1})
    url = await sim.start()
    host, port = url.removeprefix("socket://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        text6 = codec6.dynamic_text(1, [(codec6.Area6(area_id=2), "A007".encode("gb2312"))])
        writer.write(codec.ping(1) + b"\x00\x5a\xa5\x01" + text6 + codec.clear(1))
        await writer.drain()
        acks = codec.BxParser()
        replies: list[codec.BxFrame] = []
        while len(replies) < 2:  # the two 5th-generation requests are answered; the 0xF0 frame is not
            replies += acks.feed(await asyncio.wait_for(reader.read(4096), 3.0))
        assert [r.status for r in replies] == [0, 0]
        await until(lambda: sim.frames == 3)
        assert (sim.frames6, sim.rejected) == (1, 1)  # the garbage between was one cut-short frame
        assert sim.areas == {}  # the 6th-gen text, then the 5th-gen clear
    finally:
        writer.close()
        await sim.stop()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_simulator_survives_arbitrary_bodies_of_either_generation(noise: bytes) -> None:
    sim = BxSimulator("led-fuzz", {"address": None})

    async def feed() -> None:
        for body in (noise, b"\x01\x00\x00\x80\xf0" + noise):  # the second looks like a 0xF0 header
            assert await sim._receive(codec.escape(body)) is None or body[4:5] != b"\xf0"

    asyncio.run(feed())
    assert sim.rejected + sim.frames == 2
