"""``hallq devices commission`` as a process: the installer's answers on stdin, the keypad simulator on a socket."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from drivers.keypad.options import Ff68Options
from drivers.keypad.simulator import Ff68Simulator
from tests.support import until

HALL = """\
# hall config (comments survive)
devices:
  - id: keypads-bus1
    kind: keypad_bus
    driver: ff68
    url: /dev/ttyUSB0
    options: {evaluators: {101: 1}, callers: {1: 1}}   # one window
"""


async def test_hallq_devices_commission_end_to_end(tmp_path: Path) -> None:
    config = tmp_path / "hall.yaml"
    config.write_text(HALL, encoding="utf-8")
    sim = Ff68Simulator("keypads-bus1", {})
    url = await sim.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "devices", "commission", "keypads-bus1", "--config", str(config),
        "--url", url, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    seen: list[str] = []

    async def expect(text: str) -> str:
        async with asyncio.timeout(60):  # a loaded CI machine imports slowly
            while True:
                line = (await proc.stdout.readline()).decode()  # type: ignore[union-attr]
                assert line, f"tool ended; said: {seen}"
                seen.append(line)
                if text in line:
                    return line

    async def answer(line: str) -> None:
        proc.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
        await proc.stdin.drain()  # type: ignore[union-attr]

    try:
        await expect("Press each key")
        # the tool's connect completes in the kernel before this loop has run the simulator's
        # accept: press only once the simulator holds the connection (else "no host connected")
        await until(lambda: sim.state()["connected"], timeout=10)
        assert (await sim.act("rate", {"address": 101, "value": 0, "wait": 2.0}))["acked"]
        assert "hallq stores level 5 非常满意" in await expect("evaluator 101 (window 1): value 0")
        await answer("2")
        await expect("confirmed: evaluator 101 value 0 = 2")
        await answer("q")
        await expect("write this into")
        await answer("y")
        await expect("written:")
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sim.stop()
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# hall config (comments survive)\n")
    options = Ff68Options.model_validate(yaml.safe_load(text)["devices"][0]["options"])
    assert options.evaluator_map(101)[0] == 2 and options.callers == {1: 1}
