"""WebSocket ``/ws``: topic subscriptions, a snapshot per topic, then ordered events.

Client → server::

    {"op": "subscribe", "topics": ["hall", "window:3", "ticket:17", "devices"]}
    {"op": "unsubscribe", "topics": ["window:3"]}
    {"op": "ping"}

Server → client::

    {"type": "snapshot", "topic": "hall", "seq": 41, "data": {...}}     one per subscribed topic
    {"type": "ticket.called", "seq": 42, "prev": 40, "topics": [...], "at": "...", "data": {...}}
    {"type": "resync"}        the client fell behind: subscribe again for fresh snapshots
    {"type": "error", "code": "...", "zh": "...", "en": "...", "topic": "window:99"}

Topics ``devices``, ``alerts`` and ``cameras`` are for supervisors, ``kiosk:<id>`` for that kiosk,
``ticket:<id>`` for its holder (``"ticket_token"`` in the subscribe message) and staff
(``server/auth/topics.py``); others get ``{"type": "error", "code": "forbidden_topic"}``; made-up
topics get ``invalid_topic``. Limits (``server/auth/wsguard.py``): messages of at most 8 KiB
(larger: close 1009), a message rate, 64 topics per connection, connections per address;
the principal is checked again every few seconds (revoked: close 4401). Masked identities go
to staff only (``server/auth/disclosure.py``).
Ticket tokens never travel on the stream: no view or event carries one (``server/queue/events.py``).
``pong`` comes after every event published before the ``ping`` arrived. A snapshot is
complete up to its ``seq``; the server never sends an event of that topic
with a lower or equal ``seq`` after it. ``prev`` is the ``seq`` of the previous event sent
on this connection, so a client can tell a lost message from one filtered by topic.
Ephemeral events (``devices``, ``alerts``) have no ``seq``.

Fan-out: under ``hallq serve`` (``server/auth/serving.py`` ``FanoutWebSocketProtocol``) an event
is written on the publisher's turn to every connection that has nothing queued, no snapshot or
message in flight and a transport below its high-water mark: one pass over the subscribers, the
frame bytes built once per variant (public/staff) and ``prev``. Any other connection takes its
queue and pump as before, so order and ``prev`` hold, and a stalled reader fills its bounded
queue and gets ``resync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from server.auth import Principal, get_principal, public
from server.auth.disclosure import redact_identity, sees_identity
from server.auth.origin import same_origin
from server.auth.topics import may_receive, may_subscribe, topic_error
from server.auth.wsframes import FRAME_WRITER, text_frame
from server.auth.wsguard import CLOSE_REVOKED, CLOSE_TOO_BIG, MAX_MESSAGE, MAX_SUBSCRIPTIONS, Guard
from server.errors import HallqError
from server.hall.hub import ALL, CLOSED, Hub, Item, Message, Subscriber
from server.queue.events import Event

log = logging.getLogger(__name__)
HOST_TOPIC = "host"  # a device host's stream: server/devices/remote.py
router = APIRouter()

MAX_TOPICS = 64
MAX_TOPIC_LEN = 64


class Connection:
    """One websocket client: its subscriber, the per-topic snapshot floors, one writer at a time."""

    def __init__(self, ws: WebSocket, hub: Hub, maxsize: int, principal: Principal | None = None) -> None:
        self.ws = ws
        self.hub = hub
        self.principal = principal
        self.tickets: set[int] = set()  # ticket ids whose token this client showed
        self.config = getattr(getattr(ws.app.state, "services", None), "config", None)
        self.sub: Subscriber = hub.subscribe((), maxsize)
        self.floor: dict[str, int] = {}
        self.lock = asyncio.Lock()
        self.prev = 0  # seq of the last event sent on this connection
        writer = ws.scope.get("extensions", {}).get(FRAME_WRITER)
        self.writer: Callable[[bytes], bool] | None = writer if callable(writer) else None
        if self.writer is not None:  # the server takes ready frames: fan out on the publisher's turn
            self.sub.direct = self.deliver

    def _followed(self, event: Event) -> bool:
        """Topic ``host`` (a device host) receives every committed event, ephemeral ones only by topic."""
        if ALL not in self.sub.topics:
            return True
        return event.seq is not None or not self.sub.topics.isdisjoint(event.topics)

    def _stale(self, event: Event) -> bool:
        if event.seq is None:
            return False
        topics = [t for t in event.topics if t in self.sub.topics]
        return bool(topics) and all(self.floor.get(t, 0) >= event.seq for t in topics)

    async def send(self, message: Message) -> None:
        """Send one control message (snapshot, error, pong …) as JSON (no view carries a ticket token).

        Masked identities go to staff only, and to a kiosk on its own ``kiosk:<id>`` topic.
        """
        if not sees_identity(self.principal) and not _kiosk_message(message):
            message = redact_identity(message)
        await self.ws.send_text(json.dumps(message, ensure_ascii=False, separators=(",", ":")))

    def _public(self, event: Event) -> bool:
        return not sees_identity(self.principal) and not _kiosk_message({"topics": event.topics})

    async def send_event(self, event: Event) -> None:
        """Send an event: its frame encoded once per publish (shared by all clients), plus this client's ``prev``."""
        prev = self.prev if event.seq is not None else None
        frame = _text(event, self._public(event), prev)
        if event.seq is not None:
            self.prev = event.seq
        await self.ws.send_text(frame)

    def deliver(self, event: Event) -> bool:
        """Write an event on the publisher's turn; False when the queued path must take it (order kept).

        Called by the hub only while this connection's queue is empty; the lock is held while a
        snapshot, an error or a queued item is being sent, and those go first.
        """
        if self.lock.locked() or self.writer is None:
            return False
        if not (self._followed(event) and not self._stale(event) and self.allowed(event)):
            return True  # not for this client: nothing to send, as the pump would decide
        prev = self.prev if event.seq is not None else None
        if not self.writer(_wire(event, self._public(event), prev)):
            return False  # closing, or a slow reader above the high-water mark: queue it
        if event.seq is not None:
            self.prev = event.seq
        return True

    def allowed(self, event: Event) -> bool:
        """False for an event this client may not see (an alert also published on a public topic)."""
        return may_receive(self.principal, event.topics, self.tickets, event.type.value)

    def rebind(self, principal: Principal | None) -> bool:
        """Take the re-checked principal; False when the connection lost a topic it follows."""
        self.principal = principal
        lost = [t for t in self.sub.topics if t != ALL and not may_subscribe(principal, t, self.tickets)]
        self.unsubscribe(lost)
        return not lost

    async def pump(self) -> None:
        """Forward hub messages to the client until the hub closes the subscription."""
        try:
            await self._pump()
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away mid-send; make sure the reader stops too
            log.debug("websocket send failed", exc_info=True)
            with contextlib.suppress(Exception):
                await self.ws.close(code=1011)

    async def _pump(self) -> None:
        while True:
            item: Item = await self.sub.get()
            if item is CLOSED:
                await self.ws.close(code=1001)
                return
            async with self.lock:
                if isinstance(item, Event):
                    if self._followed(item) and not self._stale(item) and self.allowed(item):
                        await self.send_event(item)
                    continue
                if item.get("type") == "resync":
                    self.floor.clear()
                await self.send(item)

    async def error(self, code: str, zh: str, en: str, **extra: Any) -> None:
        """Tell the client what was wrong with its message."""
        async with self.lock:
            await self.send({"type": "error", "code": code, "zh": zh, "en": en, **extra})

    async def subscribe(self, topics: list[str]) -> None:
        """Add topics and send their snapshots before any newer event of them."""
        async with self.lock:  # the pump waits, so events queued meanwhile follow the snapshots
            for topic in topics:
                invalid = topic_error(topic, self.config)
                if invalid is not None:
                    await self.send(_bad_topic(topic))
                    continue
                if topic not in self.sub.topics and len(self.sub.topics) >= MAX_SUBSCRIPTIONS:
                    await self.send({"type": "error", "code": "too_many_topics", "topic": topic,
                                     "zh": f"订阅主题过多（最多{MAX_SUBSCRIPTIONS}个）",
                                     "en": f"Too many topics (at most {MAX_SUBSCRIPTIONS})"})
                    continue
                if not may_subscribe(self.principal, topic, self.tickets):
                    await self.send({"type": "error", "code": "forbidden_topic", "topic": topic,
                                     "zh": f"无权订阅：{topic}", "en": f"Not allowed to follow: {topic}"})
                    continue
                seq = self.hub.last_seq  # read before the snapshot: the snapshot is at least this new
                try:
                    data = await _shared_snapshot(self.hub, topic, seq)
                except HallqError as exc:
                    await self.send({"type": "error", "code": exc.code, "zh": exc.zh, "en": exc.en, "topic": topic})
                    continue
                except ValueError:
                    await self.send(_bad_topic(topic))
                    continue
                except Exception as exc:  # a snapshot that cannot be built is this topic's error, not the socket's
                    log.warning("websocket snapshot of %r failed: %s", topic[:64], type(exc).__name__)
                    await self.send(_bad_topic(topic))
                    continue
                if isinstance(data, dict) and isinstance(data.get("seq"), int):
                    seq = max(seq, data["seq"])  # the store says how far its snapshot reaches
                self.sub.topics.add(topic)
                if topic == HOST_TOPIC:
                    self.sub.topics.add(ALL)  # every committed event (see _followed)
                self.floor[topic] = seq
                await self.send({"type": "snapshot", "topic": topic, "seq": seq, "data": data})

    def unsubscribe(self, topics: list[str]) -> None:
        """Stop receiving these topics."""
        for topic in topics:
            self.sub.topics.discard(topic)
            self.floor.pop(topic, None)
            if topic == HOST_TOPIC:
                self.sub.topics.discard(ALL)


# One snapshot of a public topic per event seq, shared by every connection that asks meanwhile:
# a burst of (re)subscriptions costs one store read, not one each (issue 12, §16).
_SNAPSHOTS: weakref.WeakKeyDictionary[Hub, dict[str, tuple[int, Any]]] = weakref.WeakKeyDictionary()
SHARED_TOPICS = ("hall", "window:")


async def _shared_snapshot(hub: Hub, topic: str, seq: int) -> Any:
    if not topic.startswith(SHARED_TOPICS):
        return await hub.snapshot(topic)
    cache = _SNAPSHOTS.setdefault(hub, {})
    hit = cache.get(topic)
    if hit is not None and hit[0] == seq:
        return hit[1]
    data = await hub.snapshot(topic)
    if hub.last_seq == seq:  # nothing committed while it was read: valid for everyone at this seq
        if len(cache) > 256:
            cache.clear()
        cache[topic] = (seq, data)
    return data


def _text(event: Event, public: bool, prev: int | None) -> str:
    frame = event.frame("public", redact_identity) if public else event.frame()
    if prev is None:
        return frame
    return f'{frame[:-1]},"prev":{prev}}}'  # a frame is a JSON object: splice one key in


class _Wire:
    """The websocket frames of the event being fanned out, one per variant and ``prev``.

    The hub offers one event to every subscriber before the next, and 1,000 hall displays
    mostly share one ``prev``: a handful of frames per event instead of one per client.
    """

    def __init__(self) -> None:
        self.event: Event | None = None
        self.frames: dict[tuple[bool, int | None], bytes] = {}

    def get(self, event: Event, public: bool, prev: int | None) -> bytes:
        if event is not self.event:
            self.event, self.frames = event, {}
        key = (public, prev)
        frame = self.frames.get(key)
        if frame is None:
            if len(self.frames) >= 64:  # clients scattered over many prevs: bound the memo
                self.frames.clear()
            frame = self.frames[key] = text_frame(_text(event, public, prev).encode())
        return frame


_wire = _Wire().get


def _kiosk_message(message: Message) -> bool:
    if str(message.get("topic", "")).startswith("kiosk:"):
        return True
    topics = message.get("topics") or ()
    return isinstance(topics, list | tuple) and any(str(t).startswith("kiosk:") for t in topics)


def _bad_topic(topic: str) -> dict[str, Any]:
    return {"type": "error", "code": "invalid_topic", "zh": f"无效的订阅主题：{topic}",
            "en": f"Invalid topic: {topic}", "topic": topic}


def _topics(message: dict[str, Any]) -> list[str] | None:
    topics = message.get("topics")
    if not isinstance(topics, list) or len(topics) > MAX_TOPICS:
        return None
    if not all(isinstance(t, str) and 0 < len(t) <= MAX_TOPIC_LEN for t in topics):
        return None
    return list(dict.fromkeys(topics))


@router.websocket("/ws", dependencies=[Depends(public("screens and ticket pages; events carry no ticket token"))])
async def websocket(ws: WebSocket) -> None:
    """Subscribe to topics and receive snapshots, then events in seq order."""
    if not same_origin(ws):  # cross-site websocket hijacking: a page elsewhere riding a staff cookie
        await ws.close(code=4403)
        return
    guard = Guard.of(ws)
    if not guard.admit():  # too many connections (from this address, or in all)
        await ws.close(code=1013)
        return
    try:
        await _serve(ws, guard)
    finally:
        guard.release()


async def _serve(ws: WebSocket, guard: Guard) -> None:
    await ws.accept()
    services = ws.app.state.services
    services.metrics.ws_clients.inc()
    try:
        await _converse(ws, guard, services)
    finally:
        services.metrics.ws_clients.dec()


async def _converse(ws: WebSocket, guard: Guard, services: Any) -> None:
    hub: Hub = services.hub
    conn = Connection(ws, hub, services.settings.subscriber_queue, await get_principal(ws))
    pump = asyncio.get_running_loop().create_task(conn.pump())
    watch = asyncio.get_running_loop().create_task(guard.watch(conn))
    try:
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                break
            raw = frame.get("text")
            if raw is None:  # a binary frame: not part of the protocol
                if len(frame.get("bytes") or b"") > MAX_MESSAGE:
                    await ws.close(code=CLOSE_TOO_BIG)
                    break
                await conn.error("invalid_request", "消息不是 JSON 对象", "Message is not a JSON object")
                continue
            if len(raw) > MAX_MESSAGE:  # parsed on the event loop: big messages would stall everyone
                await ws.close(code=CLOSE_TOO_BIG)
                break
            if not guard.hit():
                await ws.close(code=1008)
                break
            try:
                message = json.loads(raw)
            except (ValueError, RecursionError):
                message = None
            if not isinstance(message, dict):
                await conn.error("invalid_request", "消息不是 JSON 对象", "Message is not a JSON object")
                continue
            op = message.get("op")
            if op in ("subscribe", "unsubscribe"):
                topics = _topics(message)
                if topics is None:
                    await conn.error("invalid_request", "topics 必须是字符串列表", "topics must be a list of strings")
                elif op == "subscribe":
                    if not await guard.recheck(conn):
                        await ws.close(code=CLOSE_REVOKED)
                        break
                    await guard.holder(conn, message.get("ticket_token"))
                    await conn.subscribe(topics)
                else:
                    conn.unsubscribe(topics)
            elif op == "ping":
                # through the queue, so the pong follows every event published before it (a barrier)
                conn.sub.offer({"type": "pong", "seq": hub.last_seq})
            else:
                await conn.error("invalid_request", f"未知操作：{op}", f"Unknown op: {op}")
    except WebSocketDisconnect:
        pass
    except RuntimeError:  # closed by the pump (server shutting down)
        pass
    finally:
        hub.unsubscribe(conn.sub)
        for task in (pump, watch):
            task.cancel()
        for task in (pump, watch):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
