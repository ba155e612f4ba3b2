"""In-process event hub: typed events fan out to websocket clients and in-process handlers.

Every subscriber has a bounded queue of :class:`server.queue.events.Event` values (and the
control messages below). Publishing never blocks and never waits for a subscriber: when a
subscriber's queue is full its backlog is dropped and it receives a single
``{"type": "resync"}`` message, after which it should re-subscribe (and so get fresh
snapshots). Queue events carry the store's global ``seq``; ephemeral events (device health,
alerts) published with :meth:`Hub.publish_ephemeral` carry no ``seq`` because they are not
part of the durable event log. A subscriber may deliver directly (``Subscriber.direct``) while its
queue is empty: one pass over the subscribers per event instead of one task wake-up each.
Nothing here encodes JSON: the websocket edge does, once per event (``Event.frame``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from server.queue.events import Event, EventType

log = logging.getLogger(__name__)

Message = dict[str, Any]  # a control message: resync, closed, pong
Item = Event | Message  # what a subscriber's queue holds
EventHandler = Callable[[Event], Awaitable[None]]
# Delivers an event on the publisher's turn; False: it could not, so the event is queued instead.
DirectDelivery = Callable[[Event], bool]
# A snapshot provider gets the part of the topic after "prefix:" ("" for bare topics).
SnapshotProvider = Callable[[str], Awaitable[Any]]

RESYNC: Message = {"type": "resync"}
CLOSED: Message = {"type": "closed"}  # sentinel: the hub dropped this subscriber
ALL = "*"


class Subscriber:
    """One consumer of the hub: a topic set and a bounded queue of events and control messages."""

    def __init__(self, topics: Iterable[str], maxsize: int) -> None:
        self.topics: set[str] = set(topics)
        self.maxsize = maxsize
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.overflows = 0
        self.closed = False
        # set by a consumer that can deliver at once (server/api/ws.py): used only while nothing is
        # queued, so an event never overtakes one before it
        self.direct: DirectDelivery | None = None

    def wants(self, topics: Iterable[str]) -> bool:
        """True when any of the event's topics is subscribed."""
        return ALL in self.topics or not self.topics.isdisjoint(topics)

    def offer(self, message: Item) -> None:
        """Queue an event or control message without ever waiting; on overflow drop the backlog and ask for a resync."""
        if self.closed:
            return
        if self.direct is not None and isinstance(message, Event) and self.queue.empty():
            try:
                if self.direct(message):
                    return
            except Exception:  # one consumer's failure must not stop the fan-out: take the queued path
                log.debug("direct delivery failed; queued", exc_info=True)
        if self.queue.qsize() >= self.maxsize:
            self.overflows += 1
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)
            return
        self.queue.put_nowait(message)

    async def get(self) -> Item:
        """The next event or control message (waits)."""
        return await self.queue.get()


class Hub:
    """Fan-out of events to subscribers; the publisher is never slowed down by a consumer."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self.last_seq = 0
        self._subscribers: set[Subscriber] = set()
        self._handlers: list[tuple[EventHandler, Subscriber]] = []
        self._started: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.snapshot_providers: dict[str, SnapshotProvider] = {}
        self.published = 0

    # -- subscribers ---------------------------------------------------------------
    def subscribe(self, topics: Iterable[str] = (), maxsize: int | None = None) -> Subscriber:
        """A new subscriber (add topics later by mutating ``subscriber.topics``)."""
        sub = Subscriber(topics, maxsize or self.maxsize)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Stop delivering to ``sub``."""
        if not sub.closed:
            sub.closed = True
            sub.queue.put_nowait(CLOSED)
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        """Number of live subscribers (websocket clients and handlers)."""
        return len(self._subscribers)

    def add_handler(self, handler: EventHandler, topics: Iterable[str] = (ALL,), maxsize: int = 10_000) -> None:
        """Call ``handler(event)`` for every matching typed event, in order, on its own task.

        Handlers are how in-process components (the device host) follow the queue.
        A handler that falls more than ``maxsize`` events behind loses that backlog (logged).
        """
        sub = self.subscribe(topics, maxsize)
        self._handlers.append((handler, sub))
        with contextlib.suppress(RuntimeError):  # no running loop yet: start() picks it up
            asyncio.get_running_loop()
            self._start_handler(handler, sub)

    def _start_handler(self, handler: EventHandler, sub: Subscriber) -> None:
        if id(sub) in self._started:
            return
        self._started.add(id(sub))
        task = asyncio.get_running_loop().create_task(self._run_handler(handler, sub))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_handler(self, handler: EventHandler, sub: Subscriber) -> None:
        while True:
            item = await sub.get()
            if item is CLOSED:
                return
            if not isinstance(item, Event):
                log.warning("event handler %r fell behind; events were dropped", handler)
                continue
            try:
                await handler(item)
            except Exception:  # a broken handler must not stop the others
                log.exception("event handler %r failed on %s", handler, item.type)

    def start(self) -> None:
        """Start handler tasks registered before the event loop ran."""
        for handler, sub in self._handlers:
            self._start_handler(handler, sub)

    async def stop(self) -> None:
        """Cancel handler tasks and drop all subscribers."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for sub in list(self._subscribers):
            self.unsubscribe(sub)

    # -- publishing ----------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Deliver an event to every subscriber whose topics match; never blocks."""
        if event.seq is not None and event.seq > self.last_seq:
            self.last_seq = event.seq
        self.published += 1
        for sub in tuple(self._subscribers):  # a copy: a direct delivery must not be able to upset the loop
            if sub.wants(event.topics):
                sub.offer(event)

    def publish_ephemeral(self, type: EventType | str, topics: tuple[str, ...], data: dict[str, Any]) -> None:
        """Publish a non-durable event (device health, alerts); it carries no ``seq``."""
        self.publish(Event.of(type, topics, data))

    # -- snapshots -----------------------------------------------------------------
    def register_snapshot(self, prefix: str, provider: SnapshotProvider) -> None:
        """Register the snapshot provider for topics ``prefix`` and ``prefix:<arg>``."""
        self.snapshot_providers[prefix] = provider

    async def snapshot(self, topic: str) -> Any:
        """The current state for a topic, or None when no provider knows it."""
        prefix, _, arg = topic.partition(":")
        provider = self.snapshot_providers.get(prefix)
        if provider is None:
            return None
        return await provider(arg)
