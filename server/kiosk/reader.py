"""The kiosks' ID-card readers' wiring (runs in the device host): card events → the queue port.

Every reader bound to a kiosk is followed; a card laid on it becomes
``port.card_placed(kiosk, CardReading)`` (the server validates, hashes, masks and stores
the session: server/kiosk/sessions.py), a lifted card ``port.card_removed(kiosk)``, and a
failed read an ``identity.read_failed`` event for the kiosk page. The reading goes to the
port and nowhere else: this module never logs or publishes a card.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from drivers.contract import CardEvent
from drivers.idcard.card import IdCard
from server.kiosk.reading import CardReading
from server.kiosk.sessions import kiosk_topic, reason
from server.queue.events import Event, EventType

log = logging.getLogger("hallq.kiosk.reader")

KIND = "idcard_reader"


class CardPort(Protocol):
    """The part of ``server.devices.port.QueuePort`` this wiring uses."""

    async def card_placed(self, kiosk: str, reading: CardReading) -> None:
        """A card lies on the kiosk's reader."""
        ...

    async def card_removed(self, kiosk: str) -> None:
        """The card left the reader."""
        ...

    async def publish(self, type: EventType, topics: tuple[str, ...], payload: dict[str, Any]) -> None:
        """An ephemeral event."""
        ...


class ReaderWiring:
    """Follows every kiosk's ID-card reader and forwards its cards to the queue port."""

    def __init__(self, port: CardPort | None = None) -> None:
        self.port = port  # None: the manager's queue port (start)
        self.readers: dict[str, Any] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._iterators: list[AsyncIterator[CardEvent]] = []

    async def start(self, manager: Any) -> None:
        """Follow every reader bound to a kiosk (the port defaults to ``manager.queue``)."""
        self.port = self.port or manager.queue
        self.attach([(cfg.kiosk, dev) for cfg, dev in manager.devices_of_kind(KIND) if cfg.kiosk])

    def attach(self, readers: list[tuple[str, Any]]) -> None:
        """Start consuming the events of ``readers`` ((kiosk id, reader) pairs)."""
        for kiosk, reader in readers:
            self.readers.setdefault(kiosk, reader)
            events = reader.events()  # subscribe now, before the first card can arrive
            self._iterators.append(events)
            task = asyncio.get_running_loop().create_task(self._consume(kiosk, events), name=f"reader-{kiosk}")
            self._tasks.append(task)

    async def on_event(self, event: Event) -> None:
        """Queue events need nothing from the readers."""

    async def stop(self) -> None:
        """Stop following the readers (stored sessions stay: they time out on the server)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for events in self._iterators:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        self._tasks.clear()
        self._iterators.clear()

    async def _consume(self, kiosk: str, events: AsyncIterator[CardEvent]) -> None:
        async for event in events:
            try:
                await self.handle(kiosk, event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never log the event itself: it carries the card
                log.warning("kiosk %s: forwarding a %s card event failed (%s)", kiosk, event.kind,
                            type(exc).__name__)

    async def handle(self, kiosk: str, event: CardEvent) -> None:
        """Forward one reader event of a kiosk to the port."""
        if self.port is None:
            return
        if event.kind == "placed" and isinstance(event.card, IdCard):
            await self.port.card_placed(kiosk, CardReading.from_card(event.card))
        elif event.kind == "removed":
            await self.port.card_removed(kiosk)
        elif event.kind == "read_failed":
            await self.port.publish(EventType.IDENTITY_READ_FAILED, (kiosk_topic(kiosk),),
                                    {"kiosk": kiosk, **reason("read_failed")})
