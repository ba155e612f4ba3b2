"""One owner for the devices, as deployed: real ``hallq serve`` / ``hallq devices`` processes.

The simulators run in this test process on serial ptys (the bytes of the real devices);
the server processes open them by path. "Exactly one connection" is checked the way an
operator would: which processes hold the pty open (``/proc/<pid>/fd``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import HallConfig
from tests.support import DEMO_KIOSK_K1, until
from tests.support.hallproc import DEMO_DEVICE_HOST, HallProcess, build_hall, close_hall, holders, stop

pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ptys")]


@pytest.fixture
async def hall(demo_config: HallConfig, tmp_path: Path) -> AsyncIterator[HallProcess]:
    """tests/support/hallproc.py's hall (the four simulators on ptys, a seeded SQLite database)."""
    h = await build_hall(demo_config, tmp_path, f"sqlite:///{tmp_path / 'hall.db'}")
    h.lift_issue_limits = False  # a few tickets only: the kiosk's real limits stay on
    try:
        yield h
    finally:
        await close_hall(h)


def cmdline(pid: int) -> str:
    """A process's command line (for failure messages)."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


PRINTS: list[dict[str, Any]] = []  # the print outcome of every kiosk ticket (for failure messages)


async def take(client: httpx.AsyncClient) -> str:
    """A ticket from kiosk k1; its number."""
    issued = await client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    PRINTS.append(body["print"])
    return str(body["ticket"]["number"] if "ticket" in body else body["number"])


async def exercise(hall: HallProcess) -> None:
    """Card on k1's reader → any worker sees the session; kiosk tickets print once each; keypad call-next → LED."""
    base = hall.base
    async with httpx.AsyncClient(base_url=base, timeout=15) as client:
        heartbeat = await client.post("/api/devices/heartbeat", json={"host": "probe"}, headers=DEMO_DEVICE_HOST)
        assert heartbeat.status_code == 200, heartbeat.text
        await hall.devices_ready(client, timeout=30)  # every device reported available by its host
        await hall.sims["idcard-k1"].act("place_card", {"card": "elderly"})

        async def session_seen() -> bool:
            return (await client.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1)).status_code == 200

        deadline = time.monotonic() + 15
        while not await session_seen():
            assert time.monotonic() < deadline, "the card session never reached the server"
            await asyncio.sleep(0.1)
        # a new connection per request, so the workers take turns answering
        async with httpx.AsyncClient(base_url=base, timeout=15, limits=httpx.Limits(max_keepalive_connections=0),
                                     headers={**DEMO_KIOSK_K1, "Connection": "close"}) as fresh:
            answers = [await fresh.get("/api/kiosks/k1/session") for _ in range(24)]
        assert {a.status_code for a in answers} == {200}
        assert len({a.json()["session_id"] for a in answers}) == 1

        numbers = [await take(client)]  # bound to the card (one open ticket per person and service)
        await hall.sims["idcard-k1"].act("remove_card", {})
        deadline = time.monotonic() + 15
        while await session_seen():
            assert time.monotonic() < deadline, "the card's removal never reached the server"
            await asyncio.sleep(0.1)
        numbers += [await take(client), await take(client)]
        # the route waits a few seconds for the print; on a starved machine a job may time out, and a
        # timed-out job must never print late — so: every ticket reported printed is on paper exactly once
        printer = hall.sims["printer-k1"]
        printed = [n for n, p in zip(numbers, PRINTS[-3:], strict=True) if p["printed"]]
        assert printed and all(p["state"] in ("done", "failed") for p in PRINTS[-3:]), PRINTS
        assert await printer.wait_for(lambda s: s.printed >= len(printed), 15), (printer.printed, PRINTS)

        opened = await client.post("/api/windows/1/open", json={}, headers=DEMO_DEVICE_HOST)
        assert opened.status_code == 200, opened.text
        keypads = hall.sims["keypads-bus1"]
        result = await keypads.act("press", {"address": 1, "key": "call_next"})
        assert result["acked"], result

        async def current() -> Any:
            return (await client.get("/api/windows/1", headers=DEMO_DEVICE_HOST)).json()["current"]

        deadline = time.monotonic() + 15
        while (await current()) is None:
            assert time.monotonic() < deadline, "the keypad's call-next never reached the queue"
            await asyncio.sleep(0.1)
        called = (await current())["number"]
        assert called == numbers[0]  # the elderly card's tickets come first, in order
        led = hall.sims["led-w1"]
        assert await led.wait_for(lambda s: any(called in str(v) for v in s.areas.values()), 15), led.state()
        # by now a duplicate or late print would have landed
        texts = [t["text"] for t in printer.state()["tickets"]]
        assert printer.printed == len(printed), (texts, PRINTS)
        assert all(sum(n in t for t in texts) == (1 if n in printed else 0) for n in numbers), (texts, PRINTS)


def single_holder(hall: HallProcess) -> int:
    """The one process holding every device's pty (fails when another process opened one)."""
    owners = {device_id: holders(path) for device_id, path in hall.paths.items()}
    pids = set().union(*owners.values())
    assert len(pids) == 1 and all(len(o) == 1 for o in owners.values()), {
        d: [cmdline(p) for p in o] for d, o in owners.items()}
    return pids.pop()


async def test_serve_with_four_workers_runs_one_device_host(hall: HallProcess) -> None:
    proc = hall.serve("--workers", "4")
    await hall.healthy(proc, "serve.log", timeout=60)
    await until(lambda: all(holders(p) for p in hall.paths.values()), 30)
    owner = single_holder(hall)
    assert " devices " in cmdline(owner) and "--server" in cmdline(owner)
    await exercise(hall)
    assert single_holder(hall) == owner  # still exactly one process on every port


async def test_hallq_devices_drives_every_device_through_the_api_and_survives_a_restart(hall: HallProcess) -> None:
    server = hall.serve("--no-devices")
    await hall.healthy(server, "serve.log", timeout=60)
    host = hall.devices("kiosk-pc-1")
    await until(lambda: all(holders(p) for p in hall.paths.values()), 30)
    assert single_holder(hall) == host.pid  # serve --no-devices opened none
    await exercise(hall)

    # a second host for the same devices is refused, naming the first
    second = hall.devices("spare-box", log="second.log")
    assert second.wait(60) == 3, hall.log("second.log")
    assert "kiosk-pc-1" in hall.log("second.log")

    # the server restarts; the device host keeps its ports and catches up
    await asyncio.to_thread(stop, server)  # off the loop: the simulators keep answering meanwhile
    assert host.poll() is None and single_holder(hall) == host.pid
    server = hall.serve("--no-devices", log="serve2.log")
    await hall.healthy(server, "serve2.log", timeout=60)
    # the host's own readiness line: its event stream is back (print jobs reach it again)
    await until(lambda: hall.log("devices.log", 10**7).count("event stream connected") >= 2, 30)
    async with httpx.AsyncClient(base_url=hall.base, timeout=15) as client:
        number = await take(client)
        printer = hall.sims["printer-k1"]
        assert await printer.wait_for(lambda s: any(number in t["text"] for t in s.state()["tickets"]), 20), \
            hall.log("devices.log")
    assert single_holder(hall) == host.pid
