"""Device chaos soak: a hall day at high speed while every device's line drops, stalls, corrupts and lags.

Every simulator (printer, ID reader, LED strip, keypad bus; on TCP so a drop is a real
disconnect) sits behind a drivers/faults.py ``FaultyLink``. A seeded chaos task switches
line faults on at random while kiosk, clerk, keypad and evaluator traffic runs against a real
``hallq serve``. Afterwards: hallq kept serving (tickets were issued throughout), each device
is available again, each outage was reported once (no more unavailable transitions in the
stored ``device.health`` log than faults injected on that device, and one log line per
change), and the queue invariants hold (tests/support/hallload.py ``violations``: no lost
ticket, no double print, every called ticket some staffed window's current one) plus no
ticket called twice and every rating stored once.

"Reported once" rests on the drivers' hysteresis (drivers/health.py ``HealthTracker``): a
device that dropped is reported back only after its health stayed good for ``SETTLE_SECONDS``,
longer than any fault window here, so a line that flaps within one fault (the printer
answering one status query between two corrupted ones) is one outage, not one per good reply.

Short in CI (30 s of chaos, about 35 s in all); every run prints JSON; the long run::

    HALLQ_CHAOS_SECONDS=600 .venv/bin/python -m pytest tests/reliability/test_chaos.py -s -p no:randomly
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.faults import LINE_FAULTS, FaultyLink
from server.config import HallConfig
from tests.support.hallload import Acks, Load, ensure_open, stop_load, violations
from tests.support.hallproc import CLIENT_LIMITS, DEVICES, HallProcess, build_hall, close_hall, stop

SECONDS = float(os.environ.get("HALLQ_CHAOS_SECONDS", "30"))
SEED = int(os.environ.get("HALLQ_CHAOS_SEED", "19"))
pytestmark = [pytest.mark.timeout(300 + 2 * SECONDS),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ptys")]

# the same hall on TCP: a dropped line is a closed connection the driver must reopen
TCP_DEVICES = [{**d, "url": "sim"} for d in DEVICES]


@pytest.fixture
async def chaos_hall(demo_config: HallConfig, tmp_path: Path) -> AsyncIterator[HallProcess]:
    rng = random.Random(SEED)
    hall = await build_hall(demo_config, tmp_path, f"sqlite:///{tmp_path / 'hall.db'}", TCP_DEVICES,
                            prepare=lambda sim: FaultyLink(random.Random(rng.random())).attach(sim))
    hall.lift_issue_limits = False  # a real kiosk's pace: the fault counts are calibrated for it
    try:
        yield hall
    finally:
        await close_hall(hall)


async def _chaos(hall: HallProcess, rng: random.Random, stop_at: float) -> None:
    """Line faults at random: one device at a time, each for a short while, with calm gaps between."""
    loop = asyncio.get_running_loop()
    kinds: list[str] = []
    while loop.time() < stop_at:
        if not kinds:  # every kind once per shuffled cycle, so a short run sees all four
            kinds = rng.sample(LINE_FAULTS, len(LINE_FAULTS))
        device = rng.choice(sorted(hall.sims))
        link: FaultyLink = hall.sims[device].line
        seconds = rng.uniform(0.3, 2.5)
        link.inject(kinds.pop(), seconds)
        await asyncio.sleep(seconds + rng.uniform(0.5, 3.0))  # a calm gap: the device may come back


def _outages(events: list[dict[str, Any]]) -> dict[str, int]:
    """Per device: how many times its stored health went from available to unavailable."""
    last: dict[str, bool] = {}
    drops: Counter[str] = Counter()
    for e in events:
        if e["type"] != "device.health":
            continue
        device = e["data"]["device"]
        available = bool(device["health"]["available"])
        if last.get(device["id"], True) and not available:
            drops[device["id"]] += 1
        last[device["id"]] = available
    return dict(drops)


async def test_devices_recover_and_the_queue_holds_under_line_chaos(chaos_hall: HallProcess) -> None:
    hall = chaos_hall
    rng = random.Random(SEED)
    proc = hall.serve(log="serve.log")
    await hall.healthy(proc, "serve.log")
    acks = Acks()
    async with httpx.AsyncClient(base_url=hall.base, timeout=10, limits=CLIENT_LIMITS) as client:
        await hall.devices_ready(client)
        start = hall.cursor
        for window in (1, 2):
            await ensure_open(client, window)
        loop = asyncio.get_running_loop()
        load = Load(hall, acks, rng)
        task = asyncio.create_task(load.run())
        await _chaos(hall, rng, loop.time() + SECONDS)
        await stop_load(load, task)
        assert proc.poll() is None, hall.log("serve.log")
        assert acks.errors == 0, f"hallq stopped answering:\n{hall.log('serve.log')}"  # kept serving
        for sim in hall.sims.values():
            sim.line.clear()
        health = await hall.devices_ready(client, timeout=90)  # every device recovers
        events = await hall.events(client, start)
    await asyncio.to_thread(stop, proc)

    injected = {d: dict(sim.line.injected) for d, sim in hall.sims.items()}
    outages = _outages(events)
    found = violations(hall, acks)
    for device, drops in outages.items():  # each fault reported once: never more outages than faults
        if drops > sum(injected[device].values()):
            found.append(f"{device}: {drops} outages reported for {sum(injected[device].values())} faults")
    twice = hall.query("SELECT ticket_id, COUNT(*) AS n FROM transitions WHERE to_state = 'called' "
                       "GROUP BY ticket_id HAVING COUNT(*) > 1")
    found += [f"ticket {r['ticket_id']} called {r['n']} times" for r in twice]
    rated = hall.query("SELECT COUNT(*) AS n, COUNT(DISTINCT ticket_id) AS d FROM ratings")[0]
    if rated["n"] != rated["d"]:
        found.append(f"ratings stored more than once: {rated}")
    log = hall.log("serve.log", 10**8)
    for device, faults in injected.items():  # the log: one line when a device drops, one when it is back
        dropped, back = log.count(f"device {device} dropped:"), log.count(f"device {device} is back:")
        if dropped > sum(faults.values()) or dropped != outages.get(device, 0) or back != dropped:
            found.append(f"{device}: {dropped} 'dropped' and {back} 'is back' log lines, "
                         f"{outages.get(device, 0)} outages, {faults}")
    counts = hall.query("SELECT (SELECT COUNT(*) FROM tickets) AS tickets, (SELECT COUNT(*) FROM transitions "
                        "WHERE to_state = 'called') AS calls, (SELECT COUNT(*) FROM ratings) AS ratings")[0]
    report = {"seconds": SECONDS, "seed": SEED, "tickets": int(counts["tickets"]), "calls": int(counts["calls"]),
              "ratings": int(counts["ratings"]),
              "acknowledged": {"tickets": len(acks.tickets), "calls": len(acks.calls), "ratings": len(acks.ratings),
                               "keypad_calls": acks.keypad_calls, "keypad_ratings": acks.keypad_ratings},
              "faults": injected, "outages_reported": outages,
              "corrupted_bytes": {d: sim.line.corrupted for d, sim in hall.sims.items()},
              "printed": hall.sims["printer-k1"].printed,
              "recovered": {d: bool(h["health"]["available"]) for d, h in health.items()},
              "log_lines": len(log.splitlines()), "dropped_lines": {d: log.count(f"device {d} dropped:") for d in
                                                                    injected},
              "back_lines": {d: log.count(f"device {d} is back:") for d in injected}, "violations": found}
    print(json.dumps({"chaos": report}, ensure_ascii=False))
    assert acks.tickets and acks.calls, report  # hallq kept serving
    assert found == [], report
