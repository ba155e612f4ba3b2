"""The one port between the devices and the queue: ``QueuePort``, and its in-process side.

Every wiring (``server/windows/``, ``server/kiosk/printing.py``, ``server/cameras/``) asks
the queue only through :class:`QueuePort`, so it runs unchanged in the two places a device
host runs:

* :class:`InProcessQueue` (this module) — inside ``hallq serve`` with one worker: direct
  calls into ``HallService``/``KioskService`` and the store, events from the hub;
* ``RemoteQueue`` (``server/devices/remote.py``) — in a ``hallq devices`` process: the
  public HTTP API and ``/ws`` topic ``host`` with a device token.

Refusals raise the same ``server.errors.HallqError`` subclasses on both sides (the remote
side rebuilds them from the problem document's ``code``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from server.queue.events import Event, EventType
from server.queue.views import HallSnapshot, TicketView, WindowView

if TYPE_CHECKING:
    from server.kiosk.reading import CardReading

log = logging.getLogger("hallq.devices")

# A claim is live while its host's heartbeats are younger than this (the server then shows
# the host offline on ``devices`` and ``kiosk:<id>``); hosts beat every HEARTBEAT_SECONDS.
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 15.0
HOST_TOPIC = "host"


@runtime_checkable
class QueuePort(Protocol):
    """Everything a device wiring may ask of the queue (and the server of its device host)."""

    def events(self) -> AsyncIterator[Event]:
        """Committed queue events in seq order (plus ``print.requested``), from now on."""
        ...

    async def call_next(self, window: int, *, actor: str) -> TicketView | None:
        """Call the next ticket at ``window`` (None when nothing waits)."""
        ...

    async def call(self, window: int, ticket_id: int, *, actor: str) -> TicketView:
        """Call one ticket (also 回呼 of a missed or suspended one)."""
        ...

    async def recall(self, window: int, *, actor: str) -> TicketView:
        """Call the current ticket again (重呼)."""
        ...

    async def start(self, window: int, *, actor: str) -> TicketView:
        """Start serving the called ticket."""
        ...

    async def finish(self, window: int, *, actor: str) -> TicketView:
        """Finish the ticket being served (办结)."""
        ...

    async def no_show(self, window: int, *, actor: str) -> TicketView:
        """Mark the called ticket 过号."""
        ...

    async def suspend(self, window: int, *, actor: str) -> TicketView:
        """Suspend (挂起) the current ticket."""
        ...

    async def transfer(self, window: int, *, to_service: str | None = None, to_window: int | None = None,
                       actor: str) -> TicketView:
        """Transfer the current ticket; returns the new child ticket."""
        ...

    async def pause_window(self, window: int, *, reason: str | None = None, actor: str) -> WindowView:
        """Pause the window (暂停/离岗)."""
        ...

    async def resume_window(self, window: int, *, actor: str) -> WindowView:
        """Resume a paused window."""
        ...

    async def request_rating(self, window: int, *, actor: str) -> TicketView:
        """Ask the citizen at the window to rate (lights the evaluator)."""
        ...

    async def rate(self, ticket_id: int, level: int, *, source: str, actor: str) -> TicketView:
        """Rate a served ticket (好差评)."""
        ...

    async def rating_due(self, window: int) -> TicketView | None:
        """The ticket whose rating the window's evaluator is waiting for (stored, not in memory)."""
        ...

    async def call_backs(self, window: int) -> list[TicketView]:
        """Missed and suspended tickets the window may call back (过号/挂起 list)."""
        ...

    async def window(self, number: int) -> WindowView:
        """One window."""
        ...

    async def waiting_for_window(self, number: int) -> list[TicketView]:
        """Tickets this window could call, in calling order."""
        ...

    async def snapshot(self) -> HallSnapshot:
        """The hall snapshot."""
        ...

    async def card_placed(self, kiosk: str, reading: CardReading) -> None:
        """A card lies on the kiosk's reader: the server validates, hashes, masks and stores the session."""
        ...

    async def card_removed(self, kiosk: str) -> None:
        """The card left the kiosk's reader."""
        ...

    async def claim_print_job(self, job_id: int) -> Any | None:
        """Take a print job (None: another host took it, or it is no longer pending)."""
        ...

    async def finish_print_job(self, job_id: int, *, printed: bool, fault: str | None) -> None:
        """Report how printing a claimed job ended."""
        ...

    async def claim_devices(self, host: str, device_ids: list[str]) -> None:
        """Claim these devices for ``host`` (raises DeviceClaimed naming the live holder)."""
        ...

    async def report_health(self, device_id: str, health: dict[str, Any]) -> None:
        """Store and publish one device's entry (kind, driver, health …)."""
        ...

    async def publish(self, type: EventType, topics: tuple[str, ...], payload: dict[str, Any]) -> None:
        """Publish an ephemeral event (identity sessions, announcements, camera analysis)."""
        ...


def as_event(message: Any) -> Event | None:
    """A typed event from what a hub subscriber receives (an Event or its wire dict); None for control messages."""
    if isinstance(message, Event):
        return message
    if not isinstance(message, Mapping) or "topics" not in message:
        return None  # resync / closed / pong
    try:
        return Event.from_message(message)
    except (KeyError, ValueError, TypeError):
        log.warning("unreadable event %r skipped", message.get("type"))
        return None


def wanted(event: Event) -> bool:
    """Events a device host follows: everything but the device layer's own health and host messages."""
    return event.type not in (EventType.DEVICE_HEALTH, EventType.DEVICE_HOST)


def host_topics(config: Any, device_ids: list[str]) -> tuple[str, ...]:
    """Topics on which a host's state is shown: ``devices`` and the ``kiosk:<id>`` of its devices' kiosks."""
    kiosks = sorted({d.kiosk for d in config.devices if d.id in device_ids and getattr(d, "kiosk", None)})
    return ("devices", *(f"kiosk:{k}" for k in kiosks))


def _ticket(value: Any) -> Any:
    """A TicketView from what HallService answers (a view already, an IssuedTicket, or a dict)."""
    if isinstance(value, dict):
        return TicketView.from_dict(value)
    inner = getattr(value, "ticket", None)
    return inner if isinstance(inner, TicketView) else value


def _window(value: Any) -> Any:
    return WindowView.from_dict(value) if isinstance(value, dict) else value


class InProcessQueue:
    """QueuePort inside the server process: HallService, KioskService, the store and the hub."""

    def __init__(self, hall: Any, hub: Any, *, kiosks: Any = None, store: Any = None,
                 stale_seconds: float = STALE_SECONDS, label: str = "embedded") -> None:
        self.hall = hall
        self.hub = hub
        self.kiosks = kiosks
        self.store: Any = store if store is not None else hall.store
        self.stale_seconds = stale_seconds
        self.label = label

    # -- events ----------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[Event]:
        """Follow the hub on every topic; ends when the hub closes the subscription."""
        sub = self.hub.subscribe(("*",), 10_000)
        try:
            while True:
                message = await sub.get()
                if isinstance(message, Mapping) and message.get("type") == "closed":
                    return
                event = as_event(message)
                if event is not None and wanted(event):
                    yield event
        finally:
            self.hub.unsubscribe(sub)

    # -- window operations ----------------------------------------------------------------
    async def call_next(self, window: int, *, actor: str) -> TicketView | None:
        """See QueuePort."""
        found = await self.hall.call_next(window, actor=actor)
        return None if found is None else _ticket(found)

    async def call(self, window: int, ticket_id: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.call(window, ticket_id, actor=actor))

    async def recall(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.recall(window, actor=actor))

    async def start(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.start(window, actor=actor))

    async def finish(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.finish(window, actor=actor))

    async def no_show(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.no_show(window, actor=actor))

    async def suspend(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.suspend(window, actor=actor))

    async def transfer(self, window: int, *, to_service: str | None = None, to_window: int | None = None,
                       actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.transfer(
            window, to_service=to_service, to_window=to_window, actor=actor))

    async def pause_window(self, window: int, *, reason: str | None = None, actor: str) -> WindowView:
        """See QueuePort."""
        return _window(await self.hall.pause_window(window, reason=reason, actor=actor))

    async def resume_window(self, window: int, *, actor: str) -> WindowView:
        """See QueuePort."""
        return _window(await self.hall.resume_window(window, actor=actor))

    async def request_rating(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.request_rating(window, actor=actor))

    async def rate(self, ticket_id: int, level: int, *, source: str, actor: str) -> TicketView:
        """See QueuePort."""
        return _ticket(await self.hall.rate(ticket_id, level, source=source, actor=actor))

    async def rating_due(self, window: int) -> TicketView | None:
        """See QueuePort (HallService.rating_due, stored by the window feature)."""
        found = await self.hall.rating_due(window)
        return None if found is None else _ticket(found)

    async def call_backs(self, window: int) -> list[TicketView]:
        """See QueuePort (HallService.call_backs)."""
        return [_ticket(t) for t in await self.hall.call_backs(window)]

    # -- reads -----------------------------------------------------------------------------
    async def window(self, number: int) -> WindowView:
        """See QueuePort."""
        return _window(await self.hall.window(number))

    async def waiting_for_window(self, number: int) -> list[TicketView]:
        """See QueuePort."""
        return [_ticket(t) for t in await self.hall.waiting_for_window(number)]

    async def snapshot(self) -> HallSnapshot:
        """See QueuePort (the remote side parses the same JSON into a HallSnapshot)."""
        snap = await self.hall.snapshot()
        if isinstance(snap, dict):
            from server.devices.remote import snapshot_from_dict

            return snapshot_from_dict(snap)
        return snap

    # -- kiosk (server side: server/kiosk/) -------------------------------------------------
    def _kiosks(self) -> Any:
        if self.kiosks is None:
            raise RuntimeError("no KioskService in this process")
        return self.kiosks

    async def card_placed(self, kiosk: str, reading: CardReading) -> None:
        """See QueuePort (KioskService.card_placed)."""
        await self._kiosks().card_placed(kiosk, reading)

    async def card_removed(self, kiosk: str) -> None:
        """See QueuePort (KioskService.card_removed)."""
        await self._kiosks().card_removed(kiosk)

    async def claim_print_job(self, job_id: int) -> Any | None:
        """See QueuePort (KioskService.claim_print_job)."""
        return await self._kiosks().claim_print_job(job_id)

    async def finish_print_job(self, job_id: int, *, printed: bool, fault: str | None) -> None:
        """See QueuePort (KioskService.finish_print_job)."""
        await self._kiosks().finish_print_job(job_id, printed=printed, fault=fault)

    # -- device host -----------------------------------------------------------------------
    async def claim_devices(self, host: str, device_ids: list[str]) -> None:
        """See QueuePort: the store refuses a device a live host holds."""
        stale_ms = int(self.stale_seconds * 1000)
        await self.hall.write(self.store.claim_devices, host, self.label, device_ids, stale_ms=stale_ms)

    async def heartbeat(self, host: str) -> int:
        """Renew the host's claims; returns how many it still holds."""
        return int(await self.hall.write(self.store.heartbeat, host))

    async def release_devices(self, host: str) -> None:
        """Drop the host's claims (clean stop)."""
        await self.hall.write(self.store.release_devices, host)

    async def report_health(self, device_id: str, health: dict[str, Any]) -> None:
        """See QueuePort: store the entry with its ``device.health`` event (the log feeds every worker)."""
        outcome = await self.hall.write(self.store.set_device_status, device_id, health)
        await self.hall.publish(outcome.events)

    async def publish(self, type: EventType, topics: tuple[str, ...], payload: dict[str, Any]) -> None:
        """See QueuePort: an ephemeral hub event of this process."""
        self.hub.publish_ephemeral(EventType(type), tuple(topics), payload)
        await asyncio.sleep(0)
