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

Topics ``devices``, ``alerts`` and ``cameras`` are for supervisors, ``kiosk:<id>`` for that kiosk
(``server/auth/topics.py``); others get ``{"type": "error", "code": "forbidden_topic"}``.
Ticket tokens never travel on the stream (they are capabilities of the ticket's holder).
``pong`` comes after every event published before the ``ping`` arrived. A snapshot is
complete up to its ``seq``; the server never sends an event of that topic
with a lower or equal ``seq`` after it. ``prev`` is the ``seq`` of the previous event sent
on this connection, so a client can tell a lost message from one filtered by topic.
Ephemeral events (``devices``, ``alerts``) have no ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from server.auth import Principal, get_principal, public
from server.auth.privacy import strip_tokens
from server.auth.topics import may_subscribe
from server.errors import HallqError
from server.events import CLOSED, Hub, Message, Subscriber

log = logging.getLogger(__name__)
router = APIRouter()

MAX_TOPICS = 64
MAX_TOPIC_LEN = 64


class Connection:
    """One websocket client: its subscriber, the per-topic snapshot floors, one writer at a time."""

    def __init__(self, ws: WebSocket, hub: Hub, maxsize: int, principal: Principal | None = None) -> None:
        self.ws = ws
        self.hub = hub
        self.principal = principal
        self.sub: Subscriber = hub.subscribe((), maxsize)
        self.floor: dict[str, int] = {}
        self.lock = asyncio.Lock()
        self.prev = 0  # seq of the last event sent on this connection

    def _stale(self, message: Message) -> bool:
        seq = message.get("seq")
        if not isinstance(seq, int):
            return False
        topics = [t for t in message.get("topics", ()) if t in self.sub.topics]
        return bool(topics) and all(self.floor.get(t, 0) >= seq for t in topics)

    async def send(self, message: Message) -> None:
        """Send one JSON message, without ticket tokens (they stay with the ticket's holder)."""
        await self.ws.send_text(json.dumps(strip_tokens(message), ensure_ascii=False, separators=(",", ":")))

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
            message = await self.sub.get()
            if message is CLOSED:
                await self.ws.close(code=1001)
                return
            async with self.lock:
                if message.get("type") == "resync":
                    self.floor.clear()
                elif self._stale(message):
                    continue
                seq = message.get("seq")
                if isinstance(seq, int) and "topics" in message:
                    message = {**message, "prev": self.prev}
                    self.prev = seq
                await self.send(message)

    async def error(self, code: str, zh: str, en: str, **extra: Any) -> None:
        """Tell the client what was wrong with its message."""
        async with self.lock:
            await self.send({"type": "error", "code": code, "zh": zh, "en": en, **extra})

    async def subscribe(self, topics: list[str]) -> None:
        """Add topics and send their snapshots before any newer event of them."""
        async with self.lock:  # the pump waits, so events queued meanwhile follow the snapshots
            for topic in topics:
                if not may_subscribe(self.principal, topic):
                    await self.send({"type": "error", "code": "forbidden_topic", "topic": topic,
                                     "zh": f"无权订阅：{topic}", "en": f"Not allowed to follow: {topic}"})
                    continue
                seq = self.hub.last_seq  # read before the snapshot: the snapshot is at least this new
                try:
                    data = await self.hub.snapshot(topic)
                except HallqError as exc:
                    await self.send({"type": "error", "code": exc.code, "zh": exc.zh, "en": exc.en, "topic": topic})
                    continue
                except ValueError:
                    await self.send(_bad_topic(topic))
                    continue
                if isinstance(data, dict) and isinstance(data.get("seq"), int):
                    seq = max(seq, data["seq"])  # the store says how far its snapshot reaches
                self.sub.topics.add(topic)
                self.floor[topic] = seq
                await self.send({"type": "snapshot", "topic": topic, "seq": seq, "data": data})

    def unsubscribe(self, topics: list[str]) -> None:
        """Stop receiving these topics."""
        for topic in topics:
            self.sub.topics.discard(topic)
            self.floor.pop(topic, None)


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


@router.websocket("/ws", dependencies=[Depends(public("screens and ticket pages; tokens are stripped"))])
async def websocket(ws: WebSocket) -> None:
    """Subscribe to topics and receive snapshots, then events in seq order."""
    await ws.accept()
    hub: Hub = ws.app.state.hub
    conn = Connection(ws, hub, ws.app.state.settings.subscriber_queue, await get_principal(ws))
    pump = asyncio.get_running_loop().create_task(conn.pump())
    try:
        while True:
            raw = await ws.receive_text()
            try:
                message = json.loads(raw)
            except ValueError:
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
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
