"""``RemoteQueue``: the QueuePort of a device host in its own process (``hallq devices``).

Every method is one call to the public HTTP API with the host's device token; ``events()``
follows ``/ws`` topic ``host`` (every committed queue event, device tokens only). When
the server is away the devices stay open: calls raise ``ServerUnreachable`` (wirings log
and carry on), ``events()`` reconnects with backoff, and on return it catches up first —
the events committed meanwhile are read from ``GET /api/devices/events?after=<seq>``,
then the stream resumes — so no event is lost and none is applied twice. The host never
prints on its own: printing follows ``print.requested`` jobs the server issued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import websockets

from drivers.transport import Backoff
from server.devices.port import as_event
from server.errors import Conflict, Forbidden, HallqError, NotFound, Unavailable
from server.queue.events import Event, EventType
from server.queue.views import HallSnapshot, HallStatus, ServiceStatus, TicketView, WindowView
from server.store.devices import DeviceClaimed

if TYPE_CHECKING:
    import httpx

    from server.kiosk.reading import CardReading

log = logging.getLogger("hallq.devices")

CATCH_UP_LIMIT = 1000  # events per page when catching up after a reconnect


class ServerUnreachable(Unavailable):
    """The device host cannot reach the hallq server right now (503 ``server_unreachable``)."""

    status = 503
    default_code = "server_unreachable"


_BY_STATUS: dict[int, type[HallqError]] = {404: NotFound, 409: Conflict, 403: Forbidden}


def problem_error(response: httpx.Response) -> HallqError:
    """The HallqError a problem document stands for (same code and texts as on the server)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or "invalid_request")
    zh = str(body.get("zh") or body.get("title") or response.reason_phrase)
    en = str(body.get("en") or body.get("detail") or response.reason_phrase)
    if code == "device_claimed":
        return DeviceClaimed(str(body.get("device", "")), str(body.get("host", "")),
                             str(body.get("host_label") or body.get("host", "")))
    cls = _BY_STATUS.get(response.status_code, HallqError)
    error = cls(zh, en, code=code)
    error.status = response.status_code
    return error


def snapshot_from_dict(data: dict[str, Any]) -> HallSnapshot:
    """A HallSnapshot from its JSON form (``GET /api/hall``)."""
    hall = data.get("hall") or {}
    return HallSnapshot(
        hall=HallStatus(str(hall.get("name", "")), str(hall.get("business_day", "")), bool(hall.get("open_now")),
                        hall.get("next_open")),
        services=[ServiceStatus(**{k: s.get(k) for k in ServiceStatus.__dataclass_fields__})
                  for s in data.get("services") or []],
        windows=[WindowView.from_dict(w) for w in data.get("windows") or []],
        recent_calls=[TicketView.from_dict(t) for t in data.get("recent_calls") or []],
        seq=int(data.get("seq") or 0),
    )


class RemoteQueue:
    """QueuePort over HTTP and ``/ws`` with a device token."""

    def __init__(self, server: str, token: str, *, timeout: float = 10.0, label: str = "",
                 client: httpx.AsyncClient | None = None) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.label = label
        import httpx  # loaded on use: httpx pulls in its CLI (rich, pygments); bench/bench_footprint.py

        self.client = client or httpx.AsyncClient(base_url=self.server, timeout=timeout,
                                                  headers={"Authorization": f"Bearer {token}"})
        self.last_seq: int | None = None  # the newest committed event handed out
        self.online = False
        self.connects = 0  # websocket sessions opened (1 + reconnects)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    # -- plumbing ---------------------------------------------------------------------------
    async def _call(self, method: str, path: str, body: Any = None, *, params: dict[str, Any] | None = None) -> Any:
        import httpx

        try:
            response = await self.client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise ServerUnreachable("无法连接排队服务器", f"hallq server unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise problem_error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def _ticket(self, method: str, path: str, body: Any = None) -> TicketView:
        return TicketView.from_dict(await self._call(method, path, body))

    # -- events -----------------------------------------------------------------------------
    def _ws_url(self) -> str:
        base = self.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/ws"

    async def events(self) -> AsyncIterator[Event]:
        """Committed events in seq order, across reconnects (caught up from the log)."""
        backoff = Backoff(maximum=5.0)  # a LAN server: come back within seconds of its return
        while True:
            try:
                async with websockets.connect(self._ws_url(), open_timeout=10, ping_interval=10,
                                              additional_headers={"Authorization": f"Bearer {self.token}"}) as ws:
                    await ws.send(json.dumps({"op": "subscribe", "topics": ["host"]}))
                    floor = await self._snapshot_seq(ws)
                    self.connects += 1
                    self.online = True
                    backoff.reset()
                    log.info("event stream connected (%s), catching up from seq %s to %s",
                             self.server, self.last_seq, floor)
                    if self.last_seq is not None and self.last_seq < floor:
                        async for event in self._catch_up(floor):
                            yield event
                    self.last_seq = max(self.last_seq or 0, floor)
                    async for raw in ws:
                        parsed = self._parse(raw)
                        if parsed is not None:
                            yield parsed
                log.warning("hallq server closed the event stream; devices stay open, reconnecting")
                self.online = False
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.exceptions.WebSocketException, ServerUnreachable, TimeoutError) as exc:
                if self.online:
                    log.warning("hallq server lost (%s); devices stay open, reconnecting", exc)
                self.online = False
            await asyncio.sleep(backoff.next_delay())

    async def _snapshot_seq(self, ws: Any) -> int:
        """Wait for the ``host`` snapshot; its seq is where the live stream starts."""
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "snapshot" and message.get("topic") == "host":
                return int(message.get("seq") or 0)
            if message.get("type") == "error":
                log.error("/ws refused topic host (%s): is this a device token?", message.get("code"))
                raise PermissionError(f"/ws refused topic host: {message.get('code')}")

    async def _catch_up(self, upto: int) -> AsyncIterator[Event]:
        """Events after ``last_seq`` up to ``upto`` from the server's log."""
        after = self.last_seq or 0
        while after < upto:
            page = await self._call("GET", "/api/devices/events", params={"after": after, "limit": CATCH_UP_LIMIT})
            messages = (page or {}).get("events", [])
            for message in messages:
                seq = int(message.get("seq") or 0)
                if not seq or seq > upto:
                    return
                after = self.last_seq = seq
                event = as_event(message)  # None: a type this host does not know (newer server)
                if event is not None:
                    yield event
            if len(messages) < CATCH_UP_LIMIT:
                return

    def _parse(self, raw: str | bytes) -> Event | None:
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "resync":
            log.warning("the server dropped events for this host (it fell behind); resubscribe")
            raise ServerUnreachable("事件积压", "event stream overflowed")
        if "topics" not in message:
            return None  # snapshot, pong, error
        try:
            event = Event.from_message(message)
        except (KeyError, ValueError, TypeError):
            log.warning("unreadable event %r skipped", kind)
            return None
        if event.seq is not None:
            if self.last_seq is not None and event.seq <= self.last_seq:
                return None  # already handed out while catching up
            self.last_seq = event.seq
        return event

    # -- window operations ------------------------------------------------------------------
    async def call_next(self, window: int, *, actor: str) -> TicketView | None:
        """See QueuePort."""
        data = await self._call("POST", f"/api/windows/{window}/call-next")
        return None if data is None else TicketView.from_dict(data)

    async def call(self, window: int, ticket_id: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return await self._ticket("POST", f"/api/windows/{window}/call", {"ticket_id": ticket_id})

    async def recall(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return await self._ticket("POST", f"/api/windows/{window}/recall")

    async def start(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return await self._ticket("POST", f"/api/windows/{window}/start")

    async def finish(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return await self._ticket("POST", f"/api/windows/{window}/finish")

    async def no_show(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return await self._ticket("POST", f"/api/windows/{window}/no-show")

    async def suspend(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return await self._ticket("POST", f"/api/windows/{window}/suspend")

    async def transfer(self, window: int, *, to_service: str | None = None, to_window: int | None = None,
                       actor: str) -> TicketView:
        """See QueuePort."""
        body = {"to_service": to_service} if to_service is not None else {"to_window": to_window}
        return await self._ticket("POST", f"/api/windows/{window}/transfer", body)

    async def pause_window(self, window: int, *, reason: str | None = None, actor: str) -> WindowView:
        """See QueuePort."""
        return WindowView.from_dict(await self._call("POST", f"/api/windows/{window}/pause", {"reason": reason}))

    async def resume_window(self, window: int, *, actor: str) -> WindowView:
        """See QueuePort."""
        return WindowView.from_dict(await self._call("POST", f"/api/windows/{window}/resume"))

    async def request_rating(self, window: int, *, actor: str) -> TicketView:
        """See QueuePort."""
        return await self._ticket("POST", f"/api/windows/{window}/request-rating")

    async def rate(self, ticket_id: int, level: int, *, source: str, actor: str) -> TicketView:
        """See QueuePort."""
        return await self._ticket("POST", f"/api/tickets/{ticket_id}/rating", {"level": level, "source": source})

    async def rating_due(self, window: int) -> TicketView | None:
        """See QueuePort."""
        data = await self._call("GET", f"/api/windows/{window}/rating-due")
        return None if not data else TicketView.from_dict(data)

    async def call_backs(self, window: int) -> list[TicketView]:
        """See QueuePort."""
        return [TicketView.from_dict(t) for t in await self._call("GET", f"/api/windows/{window}/call-backs") or []]

    # -- reads ------------------------------------------------------------------------------
    async def window(self, number: int) -> WindowView:
        """See QueuePort."""
        return WindowView.from_dict(await self._call("GET", f"/api/windows/{number}"))

    async def waiting_for_window(self, number: int) -> list[TicketView]:
        """See QueuePort."""
        return [TicketView.from_dict(t) for t in await self._call("GET", f"/api/windows/{number}/waiting") or []]

    async def snapshot(self) -> HallSnapshot:
        """See QueuePort."""
        return snapshot_from_dict(await self._call("GET", "/api/hall"))

    # -- kiosk --------------------------------------------------------------------------------
    async def card_placed(self, kiosk: str, reading: CardReading) -> None:
        """See QueuePort."""
        await self._call("PUT", f"/api/kiosks/{kiosk}/card", reading.model_dump(mode="json"))

    async def card_removed(self, kiosk: str) -> None:
        """See QueuePort."""
        await self._call("DELETE", f"/api/kiosks/{kiosk}/card")

    async def claim_print_job(self, job_id: int) -> Any | None:
        """See QueuePort (409: another host took it → None)."""
        try:
            data = await self._call("POST", f"/api/print-jobs/{job_id}/claim")
        except Conflict:
            return None
        if not data:
            return None
        from server.kiosk.jobs import PrintJob

        return PrintJob.from_dict(data)

    async def finish_print_job(self, job_id: int, *, printed: bool, fault: str | None) -> None:
        """See QueuePort."""
        await self._call("POST", f"/api/print-jobs/{job_id}/result", {"printed": printed, "fault": fault})

    # -- device host --------------------------------------------------------------------------
    async def claim_devices(self, host: str, device_ids: list[str]) -> None:
        """See QueuePort."""
        await self._call("POST", "/api/devices/claims", {"host": host, "label": self.label or host,
                                                         "devices": device_ids})

    async def heartbeat(self, host: str) -> int:
        """Renew the host's claims; returns how many it still holds."""
        data = await self._call("POST", "/api/devices/heartbeat", {"host": host})
        return int((data or {}).get("held", 0))

    async def release_devices(self, host: str) -> None:
        """Drop the host's claims (clean stop)."""
        with contextlib.suppress(ServerUnreachable):
            await self._call("POST", "/api/devices/release", {"host": host})

    async def report_health(self, device_id: str, health: dict[str, Any]) -> None:
        """See QueuePort."""
        await self._call("PUT", f"/api/devices/{device_id}/health", {"entry": health})

    async def publish(self, type: EventType, topics: tuple[str, ...], payload: dict[str, Any]) -> None:
        """See QueuePort: the server stores it in its event log, so every worker's clients get it."""
        await self._call("POST", "/api/devices/events", {"type": str(type), "topics": list(topics), "data": payload})
