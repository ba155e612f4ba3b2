"""One event fan-out for every input device (keypad presses, card events).

The policy, the same for every driver:

- a subscription is registered when ``subscribe()`` returns, not at its first
  ``__anext__`` (an async generator would miss events emitted in between);
- every subscriber gets every event published after it subscribed, in order;
- a stalled subscriber loses its *oldest* events when its queue is full (the device
  never blocks on a consumer), and the drop is logged once per stall, not per event;
- ``aclose()`` (or leaving ``async with``/``aclosing``) unsubscribes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger("hallq.devices")

DEFAULT_MAXSIZE = 256


class Subscription(AsyncIterator[T], Generic[T]):
    """One consumer's queue of events; iterate it, ``aclose()`` it when done."""

    def __init__(self, fanout: EventFanout[T], maxsize: int) -> None:
        self._fanout = fanout
        self.queue: asyncio.Queue[T] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._stalled = False

    def put(self, event: T) -> None:
        """Queue ``event``; when full, the oldest queued event makes room."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            if not self._stalled:
                self._stalled = True
                log.warning("%s: a subscriber is not keeping up; dropping its oldest events", self._fanout.name)
        elif self._stalled and self.queue.qsize() < self.queue.maxsize // 2:
            self._stalled = False
        self.queue.put_nowait(event)

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        return await self.queue.get()

    async def aclose(self) -> None:
        """Stop receiving events."""
        self._fanout.unsubscribe(self)


class EventFanout(Generic[T]):
    """Publishes each event to every current subscriber (see the module policy)."""

    def __init__(self, name: str, maxsize: int = DEFAULT_MAXSIZE) -> None:
        self.name = name
        self.maxsize = maxsize
        self._subscribers: list[Subscription[T]] = []

    def subscribe(self) -> Subscription[T]:
        """A new subscription, registered at once."""
        sub = Subscription(self, self.maxsize)
        self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription[T]) -> None:
        """Remove ``sub``; safe to call twice."""
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    def publish(self, event: T) -> None:
        """Hand ``event`` to every subscriber (never blocks)."""
        for sub in list(self._subscribers):
            sub.put(event)

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)
