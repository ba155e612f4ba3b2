"""Crash suite: kill -9 the server (and separately the device host) under load with devices attached.

Each round runs kiosk, clerk, keypad and evaluator traffic (tests/support/hallload.py), kills
at a seeded random moment, restarts on the same database and carries on. Afterwards every
acknowledged ticket, call and rating must be stored, numbers never repeat, no ticket is on
paper twice, every called ticket is some staffed window's current one, and the LED strip and
the caller keypad of window 1 show window 1's current number after a restart that wiped them
(the last round's restart; one more restart only when window 1 had nothing called then — each
``hallq serve --workers 4`` start costs ~8 s of CPU: five interpreters importing the app).

Short in CI; the long run prints JSON::

    HALLQ_CRASH_ROUNDS=50 .venv/bin/python -m pytest tests/reliability/test_crash.py -s -p no:randomly
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import HallConfig
from tests.support import until
from tests.support.credentials import DEMO_DEVICE_HOST, DEMO_KIOSK_K1
from tests.support.hallload import Acks, Load, ensure_open, stop_load, violations
from tests.support.hallproc import HallProcess, build_hall, close_hall, holders, kill9

ROUNDS = int(os.environ.get("HALLQ_CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("HALLQ_CRASH_SEED", "19"))
pytestmark = [pytest.mark.timeout(240 + 60 * ROUNDS),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ptys")]


@pytest.fixture
async def sqlite_hall(demo_config: HallConfig, tmp_path: Path) -> AsyncIterator[HallProcess]:
    hall = await build_hall(demo_config, tmp_path, f"sqlite:///{tmp_path / 'hall.db'}")
    try:
        yield hall
    finally:
        await close_hall(hall)


@pytest.fixture
async def postgres_hall(demo_config: HallConfig, tmp_path: Path, postgres_db_url: str) -> AsyncIterator[HallProcess]:
    hall = await build_hall(demo_config, tmp_path, postgres_db_url)
    try:
        yield hall
    finally:
        await close_hall(hall)


async def _up(hall: HallProcess, args: tuple[str, ...], log: str) -> Any:
    """Start serve; wait until it answers, a host holds every pty and reported each device ready anew."""
    hall.health.clear()  # only health reported after this start counts
    proc = hall.serve(*args, log=log)
    await hall.healthy(proc, log)
    await until(lambda: all(holders(p) for p in hall.paths.values()), 60, f"no device host:\n{hall.log(log)}")
    async with httpx.AsyncClient(base_url=hall.base, timeout=10) as client:
        await hall.devices_ready(client)
        for window in (1, 2):
            await ensure_open(client, window)
    return proc


async def _under_load(hall: HallProcess, acks: Acks, rng: random.Random, kill: Any) -> None:
    """Run the load, and at a random moment call ``kill`` while requests are in flight."""
    load = Load(hall, acks, rng)
    task = asyncio.create_task(load.run())
    await asyncio.sleep(rng.uniform(0.5, 3.0))
    await asyncio.to_thread(kill)
    await stop_load(load, task)


def _device_host(hall: HallProcess) -> int:
    """The pid of the process holding the devices' ptys (the device host)."""
    pids = hall.device_holders()
    assert len(pids) == 1, pids
    return pids.pop()


async def _wipe_displays(hall: HallProcess) -> None:
    """Blank the LED strip and the caller keypads (the server is dead): a restart must repaint them."""
    await hall.sims["led-w1"].act("clear", {})  # like a power cycle
    hall.sims["keypads-bus1"].displays.clear()


async def _shows_truth(hall: HallProcess) -> bool:
    """After a restart on wiped displays: LED and caller keypad show window 1's current number.

    False (nothing checked) when window 1 has no current ticket to show.
    """
    async with httpx.AsyncClient(base_url=hall.base, timeout=10) as client:
        current = (await client.get("/api/windows/1", headers=DEMO_DEVICE_HOST)).json()["current"]
    if current is None:
        return False
    led, keypads = hall.sims["led-w1"], hall.sims["keypads-bus1"]
    number = str(current["number"])
    digits = "".join(ch for ch in number if ch.isdigit())
    await until(lambda: any(number in str(v) for v in led.state()["areas"].values()), 30,
                f"LED after restart: {led.state()['areas']}, window 1 calls {number}")
    await until(lambda: digits in str(keypads.state()["displays"].get(1, "")), 30,
                f"caller keypad after restart: {keypads.state()['displays']}, window 1 calls {number}")
    return True


async def _show_truth(hall: HallProcess, proc: Any, args: tuple[str, ...], log: str) -> Any:
    """Window 1 has a called ticket; kill -9, wipe the LED and keypad displays, restart: both show it again."""
    async with httpx.AsyncClient(base_url=hall.base, timeout=10) as client:
        window = (await client.get("/api/windows/1", headers=DEMO_DEVICE_HOST)).json()
        if window["current"] is None:  # a fresh general ticket, so window 1 surely has one to call
            issued = await client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
            assert issued.status_code == 201, issued.text
            called = await client.post("/api/windows/1/call-next", headers=DEMO_DEVICE_HOST)
            assert called.status_code == 200, called.text
    await asyncio.to_thread(kill9, proc)
    await _wipe_displays(hall)
    proc = await _up(hall, args, log)
    assert await _shows_truth(hall), "window 1 lost its called ticket over the restart"
    return proc


async def crash_rounds(hall: HallProcess, workers: int) -> dict[str, Any]:
    """The crash suite on one hall: server kills, device-host kills, then the invariants."""
    rng = random.Random(SEED + workers)
    acks = Acks()
    args: tuple[str, ...] = ("--workers", str(workers)) if workers > 1 else ()
    proc = await _up(hall, args, "serve.log")
    host_kills = 0
    shown = False  # the LED and keypad repaint check, on the last round's restart when it can be
    for n in range(ROUNDS):
        await _under_load(hall, acks, rng, lambda p=proc: kill9(p))
        if n == ROUNDS - 1:
            await _wipe_displays(hall)
        proc = await _up(hall, args, f"serve{n}.log")
        if n == ROUNDS - 1:
            shown = await _shows_truth(hall)
        # separately: kill -9 only the device host (the embedded one is the server itself)
        if workers > 1:
            pid = _device_host(hall)
            await _under_load(hall, acks, rng, lambda pid=pid: os.kill(pid, signal.SIGKILL))
            host_kills += 1
            await until(lambda: hall.device_holders() - {pid}, 60,  # noqa: B023 (awaited here, in this iteration)
                        f"the device host was not restarted:\n{hall.log(f'serve{n}.log')}")
            hall.health.clear()
            async with httpx.AsyncClient(base_url=hall.base, timeout=10) as client:
                await hall.devices_ready(client)
    if not shown:  # window 1 had nothing called then: one more restart, with a call made first
        proc = await _show_truth(hall, proc, args, "serve-final.log")
    kill9(proc)  # the last crash: the invariants are read from what the database kept
    found = violations(hall, acks)
    counts = hall.query("SELECT (SELECT COUNT(*) FROM tickets) AS tickets, (SELECT COUNT(*) FROM transitions "
                        "WHERE to_state = 'called') AS calls, (SELECT COUNT(*) FROM ratings) AS ratings")[0]
    report = {"store": hall.database_url.split(":", 1)[0], "workers": workers, "rounds": ROUNDS,
              "server_kills": ROUNDS + (0 if shown else 1), "device_host_kills": host_kills, "seed": SEED,
              "tickets": int(counts["tickets"]), "calls": int(counts["calls"]), "ratings": int(counts["ratings"]),
              "acknowledged": {"tickets": len(acks.tickets), "calls": len(acks.calls), "ratings": len(acks.ratings),
                               "keypad_calls": acks.keypad_calls, "keypad_ratings": acks.keypad_ratings},
              "printed": hall.sims["printer-k1"].printed, "violations": found}
    print(json.dumps({"crash": report}, ensure_ascii=False))
    return report


async def test_kill9_sqlite_one_worker(sqlite_hall: HallProcess) -> None:
    report = await crash_rounds(sqlite_hall, workers=1)
    assert report["acknowledged"]["tickets"] and report["acknowledged"]["calls"], report
    assert report["violations"] == [], report


async def test_kill9_postgres_four_workers(postgres_hall: HallProcess) -> None:
    report = await crash_rounds(postgres_hall, workers=4)
    assert report["acknowledged"]["tickets"] and report["acknowledged"]["calls"], report
    assert report["violations"] == [], report
