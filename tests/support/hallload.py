"""Hall traffic for the reliability suites, the record of what hallq acknowledged, and the invariants.

``Load`` drives a running hall from outside: kiosk k1 issues over HTTP (printer attached),
window 2 is a clerk over HTTP (call-next, start, finish, a rating on the evaluator's behalf),
window 1 is driven by its FF68 caller keypad (call-next) with start/finish over HTTP and the
evaluator keypad rating. Only answers that came back are recorded as acknowledged; a request
in flight when a process dies is not (it may or may not have happened).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.credentials import DEMO_DEVICE_HOST, DEMO_KIOSK_K1
from tests.support.hallproc import CALLING, CLIENT_LIMITS, HallProcess

SERVICES = ("general", "social", "medical")


@dataclass
class Acks:
    """What hallq answered: tickets, calls, ratings (ids → facts), and every print outcome."""

    tickets: dict[int, str] = field(default_factory=dict)  # id → number
    calls: dict[int, int] = field(default_factory=dict)  # ticket id → window
    ratings: dict[int, int] = field(default_factory=dict)  # ticket id → level
    printed: dict[int, bool] = field(default_factory=dict)  # ticket id → reported printed
    keypad_calls: int = 0
    keypad_ratings: int = 0
    errors: int = 0


async def _window(client: httpx.AsyncClient, number: int) -> dict[str, Any]:
    answer = await client.get(f"/api/windows/{number}", headers=DEMO_DEVICE_HOST)
    answer.raise_for_status()
    return dict(answer.json())


async def ensure_open(client: httpx.AsyncClient, number: int) -> None:
    """Open the window unless it is already staffed."""
    if (await _window(client, number))["state"] == "closed":
        opened = await client.post(f"/api/windows/{number}/open", json={}, headers=DEMO_DEVICE_HOST)
        assert opened.status_code in (200, 409), opened.text


class Load:
    """Seeded hall traffic until ``stop`` is set (or a request fails because the server died)."""

    def __init__(self, hall: HallProcess, acks: Acks, rng: random.Random) -> None:
        self.hall = hall
        self.acks = acks
        self.rng = rng
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Kiosk, clerk and keypad loops at once until stopped or the server is gone."""
        async with httpx.AsyncClient(base_url=self.hall.base, timeout=10, limits=CLIENT_LIMITS) as client:
            # two kiosk loops: a ticket's answer waits for its print, and a crash should find issues in flight
            await asyncio.gather(self._kiosk(client), self._kiosk(client), self._clerk(client), self._keypad(client))

    async def _step(self, coro: Any) -> Any:
        try:
            return await coro
        except (httpx.HTTPError, OSError):
            self.acks.errors += 1
            self.stop.set()  # the server is gone: every loop ends, the round's driver restarts it
            return None

    async def _pause(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.0, 0.05))

    async def _kiosk(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            service = self.rng.choice(SERVICES)
            answer = await self._step(client.post("/api/kiosks/k1/tickets", json={"service": service},
                                                  headers=DEMO_KIOSK_K1))
            if answer is not None and answer.status_code == 201:
                body = answer.json()
                ticket = body.get("ticket", body)
                self.acks.tickets[int(ticket["id"])] = str(ticket["number"])
                self.acks.printed[int(ticket["id"])] = bool(body.get("print", {}).get("printed"))
            await self._pause()

    async def _advance(self, client: httpx.AsyncClient, number: int, *, keypad: bool) -> None:
        window = await _window(client, number)
        current = window.get("current")
        if window["state"] in ("closed", "paused"):
            await ensure_open(client, number)
            return
        if current is not None and current["state"] == "called":
            await client.post(f"/api/windows/{number}/start", headers=DEMO_DEVICE_HOST)
            return
        if current is not None and current["state"] == "serving":
            finished = await client.post(f"/api/windows/{number}/finish", headers=DEMO_DEVICE_HOST)
            if finished.status_code == 200:
                await self._rate(client, number, int(finished.json()["id"]), keypad=keypad)
            return
        if keypad:
            result = await self.hall.sims["keypads-bus1"].act("press", {"address": 1, "key": "call_next"})
            self.acks.keypad_calls += bool(result.get("acked"))
            return
        called = await client.post(f"/api/windows/{number}/call-next", headers=DEMO_DEVICE_HOST)
        if called.status_code == 200:
            self.acks.calls[int(called.json()["id"])] = number

    async def _rate(self, client: httpx.AsyncClient, number: int, ticket_id: int, *, keypad: bool) -> None:
        level = self.rng.randint(3, 5)
        if keypad:
            result = await self.hall.sims["keypads-bus1"].act("rate", {"address": 101, "value": level})
            self.acks.keypad_ratings += bool(result.get("acked"))
            return
        rated = await client.post(f"/api/tickets/{ticket_id}/rating", json={"level": level, "source": "evaluator"},
                                  headers=DEMO_DEVICE_HOST)
        if rated.status_code == 200:
            self.acks.ratings[ticket_id] = level

    async def _clerk(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            await self._step(self._advance(client, 2, keypad=False))
            await self._pause()

    async def _keypad(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            await self._step(self._advance(client, 1, keypad=True))
            await self._pause()


def violations(hall: HallProcess, acks: Acks) -> list[str]:
    """Every broken invariant, read from the database and the simulators (empty when all hold)."""
    found: list[str] = []
    tickets = {int(t["id"]): t for t in hall.query("SELECT id, number, service, business_day, seq_no, state, "
                                                   "\"window\" FROM tickets")}
    for tid, number in acks.tickets.items():  # every acknowledged ticket survives, with its number
        if tid not in tickets:
            found.append(f"acknowledged ticket {tid} ({number}) lost")
        elif tickets[tid]["number"] != number:
            found.append(f"ticket {tid} was {number}, now {tickets[tid]['number']}")
    seen: dict[tuple[str, str], dict[str, int]] = {}  # numbering continues without repeats
    for tid in sorted(tickets):
        t = tickets[tid]
        numbers = seen.setdefault((t["service"], t["business_day"]), {})
        if t["number"] in numbers:
            found.append(f"number {t['number']} repeated: tickets {numbers[t['number']]} and {tid}")
        numbers[t["number"]] = tid
    by_day: dict[tuple[str, str], list[int]] = {}
    for tid in sorted(tickets):
        t = tickets[tid]
        by_day.setdefault((t["service"], t["business_day"]), []).append(int(t["seq_no"]))
    for key, seqs in by_day.items():
        if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
            found.append(f"{key}: sequence numbers not increasing: {seqs}")
        elif seqs != list(range(seqs[0], seqs[0] + len(seqs))):  # a crash rolls a number back, never skips one
            found.append(f"{key}: numbering skipped: {seqs}")
    called = {(int(r["ticket_id"]), int(r["window"])) for r in hall.query(
        "SELECT ticket_id, \"window\" FROM transitions WHERE to_state = 'called' AND \"window\" IS NOT NULL")}
    for tid, window in acks.calls.items():  # every acknowledged call survives
        if (tid, window) not in called:
            found.append(f"acknowledged call of ticket {tid} at window {window} lost")
    ratings = {int(r["ticket_id"]): int(r["level"]) for r in hall.query("SELECT ticket_id, level FROM ratings")}
    for tid, level in acks.ratings.items():  # every acknowledged rating survives
        if ratings.get(tid) != level:
            found.append(f"acknowledged rating {level} of ticket {tid} is {ratings.get(tid)}")
    found += desk_violations(hall, tickets)
    found += print_violations(hall, acks, tickets)
    return found


def desk_violations(hall: HallProcess, tickets: dict[int, dict[str, Any]]) -> list[str]:
    """"No ticket left called at a window nobody calls from", precisely.

    A ticket in ``called``/``serving`` must name a window that is staffed (not ``closed``)
    and whose ``current_ticket_id`` is that ticket; and a window's current ticket must be a
    called/serving ticket at that window. So every called ticket is somebody's current one.
    """
    found: list[str] = []
    windows = {int(w["number"]): w for w in hall.query("SELECT number, state, current_ticket_id FROM windows")}
    for tid, t in tickets.items():
        if t["state"] not in CALLING:
            continue
        w = windows.get(int(t["window"])) if t["window"] is not None else None
        if w is None or w["state"] == "closed" or w["current_ticket_id"] != tid:
            found.append(f"ticket {tid} ({t['number']}) {t['state']} at window {t['window']} which is {w}")
    for number, w in windows.items():
        current = w["current_ticket_id"]
        if current is None:
            continue
        shown = tickets.get(int(current))
        if shown is None or shown["state"] not in CALLING or shown["window"] != number:
            found.append(f"window {number} shows ticket {current} which is {shown}")
    return found


def print_violations(hall: HallProcess, acks: Acks, tickets: dict[int, dict[str, Any]]) -> list[str]:
    """No ticket printed twice; every ticket reported printed is on paper."""
    printer = hall.sims.get("printer-k1")
    if printer is None:
        return []
    texts = [str(t["text"]) for t in printer.state()["tickets"]]
    found: list[str] = []
    for tid, t in tickets.items():
        copies = sum(1 for text in texts if _names(text, str(t["number"])))
        if copies > 1:
            found.append(f"ticket {tid} ({t['number']}) printed {copies} times")
        if acks.printed.get(tid) and copies == 0:
            found.append(f"ticket {tid} ({t['number']}) reported printed, not on paper")
    return found


def _names(text: str, number: str) -> bool:
    """The printed ticket text names this number (not a longer one that contains it)."""
    import re

    return re.search(rf"(?<![0-9A-Za-z]){re.escape(number)}(?![0-9])", text) is not None


async def stop_load(load: Load, task: asyncio.Task[None]) -> None:
    """End a load task (the server may be dead already)."""
    load.stop.set()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 30)


__all__ = [
    "SERVICES",
    "Acks",
    "Load",
    "desk_violations",
    "ensure_open",
    "print_violations",
    "stop_load",
    "violations",
]
