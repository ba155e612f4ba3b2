"""``hallq sim <device>``: every registered simulator starts, listens and stops."""

from __future__ import annotations

import asyncio
import io
import json
import socket

import pytest

from drivers import registry
from drivers.errors import ConfigurationError
from drivers.simcli import KINDS, driver_for, parse_listen, run_sim, serve_sim

pytestmark = pytest.mark.timeout(60)


def test_listen_and_kind_parsing() -> None:
    assert parse_listen("127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("pty") is None
    for bad in ("9100", "host:", "host:99999", "host:x"):
        with pytest.raises(ConfigurationError):
            parse_listen(bad)
    assert driver_for("printer") == "escpos" and driver_for("keypads") == "ff68" and driver_for("sam") == "sam"
    with pytest.raises(ConfigurationError, match="printer"):
        driver_for("toaster")
    assert run_sim("toaster", "127.0.0.1:0") == 2


@pytest.mark.parametrize("kind", ["printer", "idcard", "led", "keypads", "camera"])
async def test_every_simulator_serves_on_tcp(kind: str) -> None:
    assert KINDS[kind] in registry.SIMULATORS
    out = io.StringIO()
    stop = asyncio.Event()
    task = asyncio.create_task(serve_sim(kind, "127.0.0.1:0", {}, stop=stop, out=out))
    async with asyncio.timeout(15):
        while not out.getvalue():
            assert not task.done() or task.result() is None
            await asyncio.sleep(0.01)
    info = json.loads(out.getvalue())
    assert info["simulator"] == KINDS[kind]
    if info["url"].startswith("socket://"):
        host, port = info["url"].removeprefix("socket://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=2):
            pass
    stop.set()
    async with asyncio.timeout(10):
        await task


async def test_printer_simulator_on_a_pty() -> None:
    out = io.StringIO()
    stop = asyncio.Event()
    task = asyncio.create_task(serve_sim("printer", "pty", {"paper_mm": 58}, stop=stop, out=out))
    async with asyncio.timeout(5):
        while not out.getvalue():
            await asyncio.sleep(0.01)
    url = json.loads(out.getvalue())["url"]
    assert url.startswith("/dev/")
    from drivers.printer import escpos

    with open(url, "wb", buffering=0) as tty:  # a ticket written to the pty is echoed as text
        tty.write(escpos.init() + escpos.text("测试 A001\n") + escpos.cut())
    async with asyncio.timeout(5):
        while "测试 A001" not in out.getvalue():
            await asyncio.sleep(0.01)
    stop.set()
    sim = await asyncio.wait_for(task, 5)
    assert sim.columns == 32
