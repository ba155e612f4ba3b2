"""Keypads wired to the queue: caller keypads (呼叫器) act on their window, evaluators (评价器) rate.

Devices: every ``keypad_bus``; its ``callers``/``evaluators`` options map addresses to windows.

Keys → queue (actor ``keypad``), the same operations as the clerk console:

- ``call_next`` finishes the current ticket first (a caller keypad has no finish key);
- ``recall``, ``no_show``, ``suspend``;
- ``rate`` asks for a rating of the window's last finished ticket, which lights the evaluator;
  with a ticket still called or serving it is refused (rating only after 办结) and beeps;
- ``pause`` toggles pause/resume;
- ``transfer`` goes to ``transfer_targets[window]``, else the window's first service (secondaries
  before primaries) other than the ticket's own;
- ``callback`` (回呼) calls the newest ticket of the window's stored call-back list
  (``QueuePort.call_backs``: 过号/挂起 tickets still within the policy's limit);
- ``call_number`` (a number typed + OK) calls that waiting ticket, or calls it back;
- ``cancel`` and unknown keys do nothing.

Refusals (HallqError) beep the keypad; after an action it shows the current number and the
waiting count. An evaluator value rates the ticket the store says is due at that window
(``QueuePort.rating_due``: set when a ticket finishes or a rating is asked, for
``policy.rating_seconds``); nothing due, too late or already rated: a beep.

Events → keypads: a window's state sets its caller's number; ``ticket.finished`` and
``rating.requested`` start its evaluator; new, cancelled, transferred and expired tickets
refresh the waiting counts (at most once per ``waiting_refresh`` seconds).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from drivers.contract import KeypadBus, KeypadEvent
from server.config import HallConfig
from server.devices.port import QueuePort
from server.errors import HallqError
from server.queue.enums import WindowState
from server.queue.events import Event, EventType, TicketEvent
from server.queue.refusals import invalid_request
from server.windows.common import (
    DeviceSource,
    Tasks,
    available,
    bounded,
    on_recovery,
    port_of,
    run_all,
    ticket_digits,
)

log = logging.getLogger("hallq.devices.window")

WAITING_EVENTS = frozenset({EventType.TICKET_ISSUED, EventType.TICKET_CANCELLED, EventType.TICKET_TRANSFERRED,
                            EventType.TICKET_EXPIRED})
RATING_EVENTS = frozenset({EventType.TICKET_FINISHED, EventType.RATING_REQUESTED})
SHOWS_TICKET = frozenset({WindowState.CALLING.value, WindowState.SERVING.value})


class KeypadMap(Protocol):
    """The options of a keypad bus that bind addresses to windows (``drivers.keypad.options.Ff68Options``)."""

    callers: dict[int, int]  # address -> window
    evaluators: dict[int, int]


class Keypads(KeypadBus, Protocol):
    """A keypad bus with its address map."""

    @property
    def options(self) -> KeypadMap: ...


@runtime_checkable
class CombinedDisplay(Protocol):
    """A bus that sets a caller's number and waiting count in one frame (FF 68 does)."""

    async def show(self, address: int, ticket: int | None, waiting: int | None) -> None: ...


@dataclass
class KeypadOptions:
    """Behaviour knobs (defaults suit the demo)."""

    actor: str = "keypad"
    transfer_targets: dict[int, str] = field(default_factory=dict)  # window -> service code
    waiting_refresh: float = 1.0  # seconds: waiting counts follow new tickets at most this often


def transfer_order(config: HallConfig | None) -> dict[int, list[str]]:
    """Per window, the services a keypad transfer may go to: secondaries first, then primaries."""
    order: dict[int, list[str]] = {}
    for window in config.windows if config is not None else []:
        secondary = [s.code for s in window.services if s.role != "primary"]
        order[window.number] = secondary + [s.code for s in window.services if s.role == "primary"]
    return order


class KeypadWiring:
    """Caller keys become queue operations, evaluator values become ratings, the queue shows on keypads."""

    def __init__(self, queue: QueuePort | None = None, options: KeypadOptions | None = None) -> None:
        self.queue = queue
        self.options = options or KeypadOptions()
        self.callers: dict[int, tuple[Keypads, int]] = {}  # window -> (bus, caller address)
        self.evaluators: dict[int, tuple[Keypads, int]] = {}  # window -> (bus, evaluator address)
        self.services: dict[int, list[str]] = {}  # window -> transfer candidates
        self._locks: dict[int, asyncio.Lock] = {}
        self._dirty: set[int] = set()  # windows whose waiting count is stale
        self.tasks = Tasks()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, manager: DeviceSource) -> None:
        """Find the keypad buses, follow their events, show the current numbers."""
        self.queue = port_of(self.queue, manager)
        self.services = transfer_order(manager.config)
        for _cfg, bus in manager.devices_of_kind("keypad_bus"):
            for address, window in bus.options.callers.items():
                self.callers[int(window)] = (bus, int(address))
            for address, window in bus.options.evaluators.items():
                self.evaluators[int(window)] = (bus, int(address))
            self.tasks.spawn(self._follow(bus))
            # a bus that opens after start, or comes back after a drop, shows the queue's truth again
            on_recovery(bus, functools.partial(self._repaint, bus))
        self.tasks.spawn(self._initial())

    async def stop(self) -> None:
        """Stop following the keypads."""
        await self.tasks.stop()

    # --- queue events -> keypads -----------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        """Act on one committed queue event."""
        if event.type in WAITING_EVENTS:
            payload = event.payload
            ticket = payload.child if isinstance(payload, TicketEvent) and payload.child else event.ticket
            if ticket is not None:
                self._waiting_changed(ticket.service)
        jobs = []
        window = event.window
        if window is not None and window.number in self.callers:
            bus, address = self.callers[window.number]
            current = window.current.number if window.current is not None else None
            shown = ticket_digits(current) if window.state in SHOWS_TICKET else None
            jobs.append(self._out(bus, bus.show_ticket(address, shown)))
        number = event.window_number
        if event.type in RATING_EVENTS and number in self.evaluators:
            bus, address = self.evaluators[number]
            jobs.append(self._out(bus, bus.start_evaluation(address)))
        await run_all(jobs)

    async def _out(self, bus: Keypads, job: Coroutine[Any, Any, None]) -> None:
        """Send to the bus if it is up (a down bus drops the output at once)."""
        if available(bus):
            await job
        else:
            job.close()

    def _waiting_changed(self, service: str) -> None:
        windows = {n for n, services in self.services.items() if service in services} & set(self.callers)
        if not windows:
            return
        if not self._dirty:
            self.tasks.spawn(self._refresh_waiting())
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
            await bounded(self._out(bus, bus.show_waiting(address, len(waiting))))

    def _repaint(self, bus: Keypads) -> None:
        self.tasks.spawn(self._initial(bus))

    async def _initial(self, only: Keypads | None = None) -> None:
        if self.queue is None:
            return
        for number, (bus, address) in self.callers.items():
            if only is not None and bus is not only:
                continue
            try:
                window = await self.queue.window(number)
            except Exception as exc:
                log.info("window %s: no initial state: %s", number, exc)
                continue
            current = window.current.number if window.current is not None else None
            shown = ticket_digits(current) if window.state in SHOWS_TICKET else None
            await bounded(self._out(bus, bus.show_ticket(address, shown)))

    # --- keypads -> queue ---------------------------------------------------------------------

    async def _follow(self, bus: Keypads) -> None:
        async for event in bus.events():
            self.tasks.spawn(self.on_keypad(bus, event))

    async def on_keypad(self, bus: Keypads, event: KeypadEvent) -> None:
        """Handle one key press or rating (serialised per window)."""
        table = bus.options.evaluators if event.kind == "evaluator" else bus.options.callers
        number = table.get(event.address)
        if number is None:
            log.warning("%s key %s from keypad %d, which is bound to no window: ignored",
                        event.kind, event.key, event.address)  # fmt: skip
            return
        if self.queue is None:
            return
        async with self._locks.setdefault(int(number), asyncio.Lock()):
            try:
                if event.kind == "evaluator":
                    await self._rate(self.queue, int(number), event.value)
                    return
                shown = await self._key(self.queue, int(number), event.key, event.value)
            except HallqError as exc:
                log.info("window %s: keypad %s refused: %s", number, event.key, exc.code)
                await bounded(self._out(bus, bus.beep(event.address)))
                return
            if shown:
                await bounded(self._show_result(self.queue, bus, event.address, int(number)))

    async def _rate(self, q: QueuePort, number: int, value: int | None) -> None:
        due = await q.rating_due(number)
        if due is None or value is None:
            log.info("window %d: rating %s refused (nothing to rate now)", number, value)
            raise HallqError("现在没有可评价的号票", "Nothing to rate now", code="not_ratable")
        await q.rate(due.id, value, source="evaluator", actor="citizen")

    async def _key(self, q: QueuePort, number: int, key: str, value: int | None = None) -> bool:
        """Run ``key`` for window ``number``; True when the keypad should show the new state."""
        actor = self.options.actor
        if key == "call_next":
            if (await q.window(number)).current is not None:
                await q.finish(number, actor=actor)  # a caller keypad has no finish key
            await q.call_next(number, actor=actor)
        elif key == "recall":
            await q.recall(number, actor=actor)
        elif key == "rate":
            # rating only after 办结: with a ticket still at the window the store refuses (409
            # not_ratable) and the keypad beeps; after finish it lights the window's evaluator
            await q.request_rating(number, actor=actor)
            return False  # the evaluator starts on rating.requested; nothing to show here
        elif key == "pause":
            if (await q.window(number)).state == WindowState.PAUSED.value:
                await q.resume_window(number, actor=actor)
            else:
                await q.pause_window(number, actor=actor)
        elif key == "transfer":
            await q.transfer(number, to_service=await self._transfer_target(q, number), actor=actor)
        elif key == "no_show":
            await q.no_show(number, actor=actor)
        elif key == "suspend":
            await q.suspend(number, actor=actor)
        elif key == "callback":
            backs = await q.call_backs(number)
            if not backs:
                raise HallqError("没有可回呼的号票", "No ticket to call back", code="nothing_to_recall")
            await q.call(number, backs[0].id, actor=actor)
        elif key == "call_number" and value is not None:
            await q.call(number, await self._numbered(q, number, value), actor=actor)
        else:  # cancel and unknown keys do nothing
            return False
        return True

    async def _numbered(self, q: QueuePort, number: int, digits: int) -> int:
        """The ticket a typed number means: a waiting one of this window, else one it may call back."""
        waiting, backs = await asyncio.gather(q.waiting_for_window(number), q.call_backs(number))
        for ticket in (*waiting, *backs):
            if ticket_digits(ticket.number) == digits:
                return ticket.id
        raise HallqError(f"没有号码为{digits}的可呼叫号票", f"No ticket numbered {digits} to call",
                         code="unknown_ticket")

    async def _show_result(self, q: QueuePort, bus: Keypads, address: int, number: int) -> None:
        """Show the window's current number and its waiting count on the caller keypad."""
        window, waiting = await asyncio.gather(q.window(number), q.waiting_for_window(number))
        current = window.current.number if window.current is not None else None
        shown = ticket_digits(current) if window.state in SHOWS_TICKET else None
        if isinstance(bus, CombinedDisplay):
            await self._out(bus, bus.show(address, shown, len(waiting)))
        else:
            await self._out(bus, bus.show_ticket(address, shown))
            await self._out(bus, bus.show_waiting(address, len(waiting)))

    async def _transfer_target(self, q: QueuePort, number: int) -> str:
        if number in self.options.transfer_targets:
            return self.options.transfer_targets[number]
        current = (await q.window(number)).current
        for code in self.services.get(number, []):
            if current is None or code != current.service:
                return code
        raise invalid_request("本窗口没有可转办的业务", "This window has no service to transfer to")
