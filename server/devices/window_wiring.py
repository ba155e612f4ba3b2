"""Window devices wired to the queue: LED strips, caller/evaluator keypads, voice announcements.

Plugging in (``server/devices/setup.py``, once the manager exists)::

    from server.devices.window_wiring import WindowWiring
    manager.add_wiring(WindowWiring())

``start(manager)`` uses ``manager.queue`` (QueueOps), ``manager.publish``,
``manager.config`` and ``manager.devices_of_kind(kind) -> [(DeviceConfig, device)]``:
``led_display`` entries bound to ``window: N`` are that window's strip, ``hall: true``
(or ``windows: [...]``) a hall/zone strip; every ``keypad_bus`` maps addresses to windows
through its ``callers``/``evaluators`` options; the first available ``announcer`` speaks.

Queue events → devices: ``ticket.called``/``ticket.recalled`` → window strip, hall strip,
announcement (then ``announcement.ready`` on topic ``hall``), caller keypad display;
``ticket.finished``/``rating.requested`` → the window's evaluator starts; every event
carrying a window (``window.changed`` …) → the strip shows idle/serving/paused/closed.

Keypads → queue (actor ``keypad``, see ``server.devices.window_keys``): call_next
(finishes the current ticket first, as a caller keypad has no finish key), recall, rate
(request_rating), pause (toggles pause/resume), transfer, no_show, suspend, callback;
the keypad then shows the current number and the waiting count. Transfer goes to the window's
first configured service (secondaries before primaries) other than the ticket's own,
unless ``transfer_targets`` names one. Callback calls the most recent ticket this
window suspended or marked no-show (remembered from events since the server started).
Errors (HallqError) beep the keypad. An evaluator value rates the window's last
finished (or rating-requested) ticket once, within ``rating_timeout``; later or second
presses beep. Devices that are down are skipped at once; a strip that comes back is
given its current text again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from displays import led_layout, speech
from drivers.contract import KeypadEvent, LedText
from drivers.health import Health
from server.devices.ports import Publish, QueueOps
from server.devices.window_keys import caller_key
from server.errors import HallqError

log = logging.getLogger("hallq.devices.window")

CALL_EVENTS = ("ticket.called", "ticket.recalled")
ANNOUNCEMENT_READY = "announcement.ready"
OUTPUT_TIMEOUT = 3.0


@dataclass
class WindowWiringOptions:
    """Behaviour knobs (defaults suit the demo)."""

    rating_timeout: float = 180.0  # seconds an evaluator may rate after finish / rating request
    actor: str = "keypad"
    transfer_targets: dict[int, str] = field(default_factory=dict)  # window -> service code
    hall_calls: int = 3  # calls shown on a hall strip
    announce: bool = True
    waiting_refresh: float = 1.0  # seconds: keypads' waiting counts follow new tickets at most this often


def ticket_digits(number: str | None) -> int | None:
    """The numeric part of a ticket number for a 3-digit keypad display: "A001" → 1."""
    match = re.search(r"(\d+)$", number or "")
    return int(match.group(1)) if match else None


def _opt(device: Any, name: str, default: Any) -> Any:
    return getattr(getattr(device, "options", None), name, default)


def _available(device: Any) -> bool:
    health = getattr(device, "health", None)
    return bool(health.available) if isinstance(health, Health) else True


@dataclass
class _Strip:
    device_id: str
    device: Any
    windows: set[int] | None  # None = the window strip of one window, else hall/zone strip filter
    desired: LedText | None = None


class WindowWiring:
    """Turns queue events into window-device output and keypad input into queue operations."""

    def __init__(self, options: WindowWiringOptions | None = None) -> None:
        self.options = options or WindowWiringOptions()
        self.queue: QueueOps | None = None
        self.publish: Publish | None = None
        self.window_strips: dict[int, list[_Strip]] = {}
        self.hall_strips: list[_Strip] = []
        self.buses: list[Any] = []
        self.callers: dict[int, tuple[Any, int]] = {}  # window -> (bus, caller address)
        self.evaluators: dict[int, tuple[Any, int]] = {}  # window -> (bus, evaluator address)
        self.announcers: list[Any] = []
        self.window_services: dict[int, list[tuple[str, str]]] = {}  # window -> [(code, role)]
        self.recent_calls: deque[tuple[str, int]] = deque(maxlen=10)
        self.rating_due: dict[int, tuple[int, float]] = {}  # window -> (ticket id, deadline)
        self.set_aside: dict[int, deque[int]] = {}  # window -> suspended / no-show ticket ids
        self.announcements: deque[dict[str, Any]] = deque(maxlen=50)
        self._locks: dict[int, asyncio.Lock] = {}
        self._dirty: set[int] = set()  # windows whose keypad waiting count is stale
        self._tasks: set[asyncio.Task[Any]] = set()
        self.clock = time.monotonic

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, manager: Any) -> None:
        """Find this family's devices and start following keypad events."""
        self.queue = manager.queue
        self.publish = manager.publish
        config = getattr(manager, "config", None)
        for window in getattr(config, "windows", []) or []:
            primary = [(s.code, s.role) for s in window.services if s.role == "primary"]
            self.window_services[window.number] = [(s.code, s.role) for s in window.services if s.role != "primary"]
            self.window_services[window.number] += primary
        for cfg, device in manager.devices_of_kind("led_display"):
            if cfg.window is not None and not cfg.hall:
                strip = _Strip(cfg.id, device, None)
                self.window_strips.setdefault(cfg.window, []).append(strip)
            else:
                strip = _Strip(cfg.id, device, set(cfg.windows) if cfg.windows else None)
                self.hall_strips.append(strip)
            tracker = getattr(device, "tracker", None)
            if tracker is not None:
                tracker.listeners.append(lambda _id, health, s=strip: self._on_strip_health(s, health))
        for _cfg, bus in manager.devices_of_kind("keypad_bus"):
            self.buses.append(bus)
            for address, window in (_opt(bus, "callers", {}) or {}).items():
                self.callers[int(window)] = (bus, int(address))
            for address, window in (_opt(bus, "evaluators", {}) or {}).items():
                self.evaluators[int(window)] = (bus, int(address))
            self._spawn(self._follow(bus))
        self.announcers = [device for _cfg, device in manager.devices_of_kind("announcer")]
        self._spawn(self._initial_strips())

    async def stop(self) -> None:
        """Stop following keypads."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- queue events -> devices -------------------------------------------------------------

    async def on_event(self, event: dict[str, Any]) -> None:
        """Act on one committed queue event."""
        etype = str(event.get("type", ""))
        data = event.get("data") or {}
        ticket = data.get("ticket") if isinstance(data.get("ticket"), dict) else None
        window = data.get("window")
        wdict = window if isinstance(window, dict) else None
        number = wdict.get("number") if wdict else window if isinstance(window, int) else None
        if number is None and ticket is not None:
            number = ticket.get("window")
        if etype in ("ticket.issued", "ticket.cancelled", "ticket.transferred", "ticket.expired") and ticket:
            self._waiting_changed(str((data.get("child") or ticket).get("service", "")))
        if number is None:
            return
        jobs: list[Any] = []
        if etype in CALL_EVENTS and ticket is not None:
            call = (ticket["number"], number)
            with contextlib.suppress(ValueError):
                self.recent_calls.remove(call)  # a recall moves the call to the front, not twice on the strip
            self.recent_calls.appendleft(call)
            self._forget_set_aside(ticket["id"])
            jobs += [self._announce(ticket, number, "recall" if etype == "ticket.recalled" else "call")]
            jobs += [self._show_hall(s) for s in self.hall_strips]
        elif etype in ("ticket.suspended", "ticket.no_show") and ticket is not None:
            self.set_aside.setdefault(number, deque(maxlen=20)).append(ticket["id"])
        elif etype in ("ticket.finished", "rating.requested") and ticket is not None:
            jobs.append(self._start_rating(number, ticket["id"]))
        elif etype == "ticket.rated" and ticket is not None:
            self.rating_due = {w: due for w, due in self.rating_due.items() if due[0] != ticket["id"]}
        if wdict is not None:
            jobs = self._window_outputs(number, wdict) + jobs  # frames first: they are the fastest outputs
        if jobs:
            await asyncio.gather(*(self._bounded(job) for job in jobs))

    async def _bounded(self, job: Any) -> None:
        try:
            await asyncio.wait_for(job, OUTPUT_TIMEOUT)
        except Exception as exc:  # one broken output never stops the others
            log.warning("window output failed: %s", exc or type(exc).__name__)

    def _window_outputs(self, number: int, window: dict[str, Any]) -> list[Any]:
        current = window.get("current") if isinstance(window.get("current"), dict) else None
        state = str(window.get("state", "open"))
        ticket_no = current.get("number") if current else None
        jobs: list[Any] = []
        for strip in self.window_strips.get(number, []):
            width, font = int(_opt(strip.device, "width", 64)), int(_opt(strip.device, "font", 16))
            text = led_layout.window_strip(state, number, width, ticket=ticket_no, reason=window.get("pause_reason"),
                                           font_px=font)  # fmt: skip
            jobs.append(self._show(strip, text))
        if number in self.callers:
            bus, address = self.callers[number]
            shown = ticket_digits(ticket_no) if state in ("calling", "serving") else None
            jobs.append(self._keypad(bus, "show_ticket", address, shown))
        return jobs

    async def _show(self, strip: _Strip, text: LedText) -> None:
        strip.desired = text
        if not _available(strip.device):
            return  # shown when it comes back (see _on_strip_health)
        await strip.device.show(text)

    async def _show_hall(self, strip: _Strip) -> None:
        calls = [c for c in self.recent_calls if strip.windows is None or c[1] in strip.windows]
        width, font = int(_opt(strip.device, "width", 128)), int(_opt(strip.device, "font", 16))
        await self._show(strip, led_layout.hall_strip(calls, width, limit=self.options.hall_calls, font_px=font))

    def _on_strip_health(self, strip: _Strip, health: Health) -> None:
        if health.available and strip.desired is not None:
            with contextlib.suppress(RuntimeError):  # no loop: shutting down
                self._spawn(self._bounded(strip.device.show(strip.desired)))

    async def _initial_strips(self) -> None:
        if self.queue is None:
            return
        for number in set(self.window_strips) | set(self.callers):
            try:
                window = await self.queue.window(number)
            except Exception as exc:
                log.info("window %s: no initial state: %s", number, exc)
                continue
            for job in self._window_outputs(number, window):
                await self._bounded(job)
        for strip in self.hall_strips:
            await self._bounded(self._show_hall(strip))

    async def _keypad(self, bus: Any, method: str, *args: Any) -> None:
        if _available(bus):
            await getattr(bus, method)(*args)

    async def _announce(self, ticket: dict[str, Any], number: int, kind: str) -> None:
        if not self.options.announce:
            return
        announcer = next((a for a in self.announcers if _available(a)), None)
        if announcer is None:  # none configured, or all down (their health logged that once)
            log.debug("no announcer available for %s", ticket.get("number"))
            return
        voice = speech.voice_from_options(_voice_options(announcer))
        spoken = speech.sentence(ticket["number"], number, kind=kind, voice=voice)
        ann = await announcer.announce(spoken)
        key = announcer.key_for(spoken) if hasattr(announcer, "key_for") else None
        data = {
            "text": speech.caption(ticket["number"], number, kind=kind, voice=voice),
            "spoken": spoken,
            "url": f"/api/announcements/{key}.wav" if key else None,
            "seconds": round(ann.seconds, 2),
            "cached": ann.cached,
            "ticket": ticket["number"],
            "ticket_id": ticket["id"],
            "window": number,
        }
        self.announcements.appendleft(data)
        if self.publish is not None:
            self.publish(ANNOUNCEMENT_READY, ("hall",), data)

    async def _start_rating(self, number: int, ticket_id: int) -> None:
        self.rating_due[number] = (ticket_id, self.clock() + self.options.rating_timeout)
        if number in self.evaluators:
            bus, address = self.evaluators[number]
            await self._keypad(bus, "start_evaluation", address)

    def _waiting_changed(self, service: str) -> None:
        windows = {n for n, services in self.window_services.items() if any(c == service for c, _ in services)}
        windows &= set(self.callers)
        if not windows:
            return
        if not self._dirty:
            self._spawn(self._refresh_waiting())
        self._dirty |= windows

    async def _refresh_waiting(self) -> None:
        await asyncio.sleep(self.options.waiting_refresh)  # one read per window per period, however busy
        dirty, self._dirty = self._dirty, set()
        if self.queue is None:
            return
        for number in sorted(dirty):
            bus, address = self.callers[number]
            try:
                waiting = await self.queue.waiting_for_window(number)
            except Exception as exc:
                log.info("window %d: waiting count unavailable: %s", number, exc)
                continue
            await self._bounded(self._keypad(bus, "show_waiting", address, len(waiting)))

    def _forget_set_aside(self, ticket_id: int) -> None:
        for ids in self.set_aside.values():
            with contextlib.suppress(ValueError):
                ids.remove(ticket_id)

    # --- keypads -> queue ---------------------------------------------------------------------

    async def _follow(self, bus: Any) -> None:
        async for event in bus.events():
            self._spawn(self.on_keypad(bus, event))

    async def on_keypad(self, bus: Any, event: KeypadEvent) -> None:
        """Handle one key press or rating (serialised per window)."""
        table = _opt(bus, "evaluators" if event.kind == "evaluator" else "callers", {}) or {}
        number = table.get(event.address)
        if number is None:
            log.warning("%s key %s from keypad %d, which is bound to no window: ignored",
                        event.kind, event.key, event.address)  # fmt: skip
            return
        async with self._locks.setdefault(int(number), asyncio.Lock()):
            if event.kind == "evaluator":
                await self._rate(bus, event, int(number))
            else:
                await self._key(bus, event, int(number))

    async def _rate(self, bus: Any, event: KeypadEvent, number: int) -> None:
        due = self.rating_due.pop(number, None)
        if due is None or due[1] < self.clock() or event.value is None or self.queue is None:
            log.info("window %d: rating %s refused (nothing to rate now)", number, event.value)
            await self._bounded(self._keypad(bus, "beep", event.address))
            return
        try:
            await self.queue.rate(due[0], event.value, source="evaluator", actor="citizen")
        except HallqError as exc:
            log.info("window %d: rating refused: %s", number, exc.code)
            await self._bounded(self._keypad(bus, "beep", event.address))

    async def _key(self, bus: Any, event: KeypadEvent, number: int) -> None:
        if self.queue is None:
            return
        try:
            shown = await caller_key(self.queue, number, event.key, self.options.actor,
                                     set_aside=self.set_aside.get(number),
                                     transfer_to=lambda: self._transfer_target(number))  # fmt: skip
        except HallqError as exc:
            log.info("window %d: keypad %s refused: %s", number, event.key, exc.code)
            await self._bounded(self._keypad(bus, "beep", event.address))
            return
        if shown:
            await self._bounded(self._keypad_result(bus, event.address, number))

    async def _keypad_result(self, bus: Any, address: int, number: int) -> None:
        """Show the window's current number and its waiting count on the caller keypad."""
        assert self.queue is not None
        window, waiting = await asyncio.gather(self.queue.window(number), self.queue.waiting_for_window(number))
        current = window.get("current") if window.get("state") in ("calling", "serving") else None
        shown = ticket_digits(current.get("number")) if isinstance(current, dict) else None
        if hasattr(bus, "show"):
            await self._keypad(bus, "show", address, shown, len(waiting))
        else:
            await self._keypad(bus, "show_ticket", address, shown)
            await self._keypad(bus, "show_waiting", address, len(waiting))

    async def _transfer_target(self, number: int) -> str:
        if number in self.options.transfer_targets:
            return self.options.transfer_targets[number]
        assert self.queue is not None
        current = (await self.queue.window(number)).get("current") or {}
        for code, _role in self.window_services.get(number, []):
            if code != current.get("service"):
                return code
        raise HallqError("本窗口没有可转办的业务", "This window has no service to transfer to", code="invalid_request")


def _voice_options(announcer: Any) -> dict[str, Any]:
    options = getattr(announcer, "options", None)
    return {name: getattr(options, name, None) for name in ("templates", "letters", "digits")}
