"""Commissioning against the keypad simulator: scripted installer answers, the YAML round trip."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from drivers.keypad import codec
from drivers.keypad.commission import Commissioning, describe, run, write_options
from drivers.keypad.options import Ff68Options
from drivers.keypad.simulator import Ff68Simulator

HALL = """\
# a hall config with comments that must survive
hall:
  name: 某某镇便民服务中心   # the hall's name
devices:
  - {id: printer-k1, kind: ticket_printer, driver: escpos, url: /dev/usb/lp0, kiosk: k1}
  - id: keypads-bus1
    kind: keypad_bus
    driver: ff68
    url: /dev/ttyUSB0
    options:
      evaluator_model: five_key      # verify on site
      callers: {1: 1, 2: 2}
      evaluators: {101: 1, 102: 2}
"""


class Installer:
    """The person at the keypads: reads what the tool says, types answers."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.answers: asyncio.Queue[str | None] = asyncio.Queue()

    def say(self, text: str) -> None:
        self.said.append(text)

    async def readline(self) -> str | None:
        return await self.answers.get()

    async def expect(self, text: str, timeout: float = 15.0) -> str:
        async with asyncio.timeout(timeout):
            while True:
                hit = next((line for line in self.said if text in line), None)
                if hit is not None:
                    self.said.remove(hit)
                    return hit
                await asyncio.sleep(0.01)

    def type(self, line: str | None) -> None:
        self.answers.put_nowait(line)


@pytest.mark.parametrize("transport", ["socket", "pty"])
async def test_walk_through_writes_the_confirmed_map(tmp_path: Path, transport: str) -> None:
    config = tmp_path / "hall.yaml"
    config.write_text(HALL, encoding="utf-8")
    sim = Ff68Simulator("keypads-bus1", {})
    url = await sim.start() if transport == "socket" else await sim.start_pty()
    who = Installer()
    tool = asyncio.create_task(run("keypads-bus1", config, url, who.readline, who.say))
    try:
        await who.expect("Press each key")
        await sim.act("rate", {"address": 101, "value": 0, "wait": 1.0})
        # five_key says 0 = 非常满意; on site this evaluator's leftmost key is 不满意
        assert "value 0 → hallq stores level 5 非常满意" in await who.expect("evaluator 101 (window 1)")
        await who.expect("Enter = keep")
        who.type("2")
        await who.expect("confirmed: evaluator 101 value 0 = 2")
        await sim.act("rate", {"address": 101, "value": 4, "wait": 1.0})
        await who.expect("value 4 → hallq stores level 1")
        who.type("")  # keep
        await who.expect("confirmed: evaluator 101 value 4 = 1")
        assert (await sim.act("raw", {"address": 2, "data": "21", "wait": 1.0}))["refused"]  # a vendor code
        assert "key code 0x21 → hallq stores nothing" in await who.expect("caller 2 (window 2)")
        who.type("call_next")
        await who.expect("confirmed: caller 2 code 33 = call_next")
        await sim.act("rate", {"address": 104, "value": 3, "wait": 1.0})  # not configured yet
        assert "stores nothing (address not configured)" in await who.expect("evaluator 104 (not configured)")
        await who.expect("window of evaluator 104")
        who.type("4")
        await who.expect("Enter = keep")
        who.type("7")  # not a level: asked again
        await who.expect("maps to a level 1..5")
        who.type("5")
        await who.expect("confirmed: evaluator 104 value 3 = 5")
        await sim.act("enter", {"address": 1, "digits": "10", "wait": 1.0})
        await who.expect("digits 10 + OK — a number entry")
        who.type("q")
        await who.expect("write this into")
        who.type("y")
        assert await asyncio.wait_for(tool, 5.0) == 0
    finally:
        tool.cancel()
        await sim.stop()
    text = config.read_text(encoding="utf-8")
    assert "# a hall config with comments that must survive" in text and "# verify on site" in text
    assert "# the hall's name" in text
    assert "{id: printer-k1, kind: ticket_printer, driver: escpos, url: /dev/usb/lp0, kiosk: k1}" in text
    data = yaml.safe_load(text)
    options = Ff68Options.model_validate(data["devices"][1]["options"])
    assert options.evaluator_map(101) == {0: 2, 1: 4, 2: 3, 3: 2, 4: 1}
    assert options.evaluator_map(102) == codec.EVALUATOR_MAPS["five_key"]  # untouched
    assert options.evaluators == {101: 1, 102: 2, 104: 4} and options.evaluator_map(104) == {3: 5}
    assert options.caller_spec(2).keys == {0x21: "call_next"} and options.callers == {1: 1, 2: 2}


def test_describe_and_write_without_a_bus(tmp_path: Path) -> None:
    config = tmp_path / "hall.yaml"
    config.write_text(HALL, encoding="utf-8")
    options = Ff68Options.model_validate(yaml.safe_load(HALL)["devices"][1]["options"])
    [frame] = codec.KeypadParser().feed(codec.key_frame(1, "suspend"))
    press = describe(options, frame)
    assert (press.role, press.value, press.ok, press.meaning) == ("caller", 0, True, "suspend")
    session = Commissioning(options)
    session.confirm(press, "no_show")  # this caller's "0 OK" means 弃号 on site
    with pytest.raises(ValueError):
        session.confirm(press, "explode")
    write_options(config, "keypads-bus1", session)
    again = Ff68Options.model_validate(yaml.safe_load(config.read_text(encoding="utf-8"))["devices"][1]["options"])
    assert again.caller_spec(1).ok_codes == {0: "no_show"}
    with pytest.raises(KeyError):
        write_options(config, "nope", session)
