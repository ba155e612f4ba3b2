"""The event hub and the websocket stream: order, snapshots, slow subscribers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import websockets

from server.app import create_app
from server.auth import Role
from server.hall.hub import RESYNC, Hub
from server.queue.events import Event, EventType, TicketEvent
from server.queue.views import TicketView
from server.settings import Settings
from tests.support import DEMO_DEVICE_HOST, account_token, seeding_store_factory


def _issued(seq: int) -> Event:
    """A committed ``ticket.issued`` event with seq ``seq``."""
    ticket = TicketView(id=seq, number=f"A{seq:03d}", service="general", service_name="综合", state="issued",
                        priority="normal", channel="kiosk", window=None, issued_at="2026-11-27T09:00:00+08:00",
                        called_at=None, started_at=None, finished_at=None, recall_count=0, ahead=0, eta_minutes=None,
                        parent_id=None, masked_id=None, masked_name=None, rating=None, business_day="2026-11-27",
                        kiosk=None)
    return Event(EventType.TICKET_ISSUED, ("hall",), TicketEvent(ticket), seq, "2026-11-27T09:00:00+08:00")


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'hall.db'}", event_poll_seconds=0, **kw)


async def test_slow_subscriber_is_told_to_resync_and_does_not_hold_back_others() -> None:
    hub = Hub(maxsize=16)
    slow = hub.subscribe(["hall"])
    fast = hub.subscribe(["hall"])
    other_topic = hub.subscribe(["window:9"])
    received: list[int] = []

    async def read_fast() -> None:
        while len(received) < 500:
            item = await fast.get()
            assert isinstance(item, Event) and item.seq is not None
            received.append(item.seq)

    reader = asyncio.create_task(read_fast())
    for seq in range(1, 501):
        hub.publish(_issued(seq))
        await asyncio.sleep(0)  # the fast reader keeps up; the slow one never reads
    await asyncio.wait_for(reader, 5)

    assert received == list(range(1, 501))
    assert slow.overflows > 0
    backlog = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert RESYNC in backlog
    assert len(backlog) <= 16
    assert other_topic.queue.empty()
    assert hub.last_seq == 500


async def test_handlers_receive_every_event_in_order() -> None:
    hub = Hub()
    seen: list[int] = []
    done = asyncio.Event()

    async def handler(event: Event) -> None:
        assert event.seq is not None and event.ticket is not None  # typed, not a dict
        seen.append(event.seq)
        if event.seq == 50:
            done.set()

    hub.add_handler(handler)
    for seq in range(1, 51):
        hub.publish(_issued(seq))
    await asyncio.wait_for(done.wait(), 5)
    await hub.stop()
    assert seen == list(range(1, 51))


async def _recv(ws: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]


@pytest.mark.parametrize("store", ["fake", "sqlite"])
async def test_ws_subscriber_sees_every_event_in_order(
    store: str, tmp_path: Path, live_server: Any, fake_store_factory: Any, hall_config: Any
) -> None:
    factory = fake_store_factory if store == "fake" else seeding_store_factory
    app = create_app(_settings(tmp_path), config=hall_config, store_factory=factory)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=10, headers=DEMO_DEVICE_HOST) as http:
        ws_url = base.replace("http", "ws") + "/ws"
        async with websockets.connect(ws_url) as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["hall"]}))
            snap = await _recv(ws)
            assert snap["type"] == "snapshot" and snap["topic"] == "hall"
            assert "services" in snap["data"] and "windows" in snap["data"]

            for n in (1, 2, 3):
                assert (await http.post(f"/api/windows/{n}/open", json={})).status_code == 200
            # concurrent issues and calls: outcomes return out of order, events must not
            issued = await asyncio.gather(*(http.post("/api/tickets", json={"service": "general"}) for _ in range(30)))
            assert all(r.status_code == 201 for r in issued)
            calls = await asyncio.gather(*(http.post(f"/api/windows/{n}/call-next") for n in (1, 2, 3)))
            assert all(r.status_code == 200 for r in calls)

            hall = app.state.services.hall
            expected = [e.seq for e in await hall.run(hall.store.last_events, snap["seq"], 1000)]
            assert len(expected) >= 36  # 3 opens, 30 issues, 3 calls at least
            got: list[dict[str, Any]] = []
            while len(got) < len(expected):
                got.append(await _recv(ws))
            seqs = [m["seq"] for m in got]
            assert seqs == expected  # every committed event, once, in seq order
            assert seqs == sorted(set(seqs))
            assert [m["prev"] for m in got[1:]] == seqs[:-1]  # nothing lost on this connection
            assert sum(m["type"] == "ticket.issued" for m in got) == 30
            assert {m["data"]["ticket"]["number"] for m in got if m["type"] == "ticket.called"} == {
                c.json()["number"] for c in calls
            }


async def test_ws_window_and_ticket_snapshots_then_events(tmp_path: Path, live_server: Any, hall_config: Any) -> None:
    app = create_app(_settings(tmp_path), config=hall_config, store_factory=seeding_store_factory)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=10, headers=DEMO_DEVICE_HOST) as http:
        await http.post("/api/windows/1/open", json={})
        ticket = (await http.post("/api/tickets", json={"service": "general"})).json()
        async with websockets.connect(base.replace("http", "ws") + "/ws") as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["window:1", f"ticket:{ticket['id']}"],
                                      "ticket_token": ticket["token"]}))  # the holder follows its ticket
            first, second = await _recv(ws), await _recv(ws)
            assert first["topic"] == "window:1" and first["data"]["window"]["state"] == "open"
            assert [t["id"] for t in first["data"]["waiting"]] == [ticket["id"]]
            assert second["topic"] == f"ticket:{ticket['id']}" and second["data"]["state"] == "issued"

            called = (await http.post("/api/windows/1/call-next")).json()
            event = await _recv(ws)
            assert event["type"] == "ticket.called" and event["seq"] > first["seq"]
            assert event["data"]["ticket"]["id"] == called["id"] == ticket["id"]
            assert {"window:1", f"ticket:{ticket['id']}"} <= set(event["topics"])

            await ws.send(json.dumps({"op": "subscribe", "topics": ["window:999"]}))
            error = await _recv(ws)
            # a window this hall does not have is not a topic (server/auth/topics.py topic_error)
            assert error["type"] == "error" and error["code"] == "invalid_topic"
            await ws.send("not json")
            assert (await _recv(ws))["code"] == "invalid_request"
            await ws.send(json.dumps({"op": "ping"}))
            assert (await _recv(ws))["type"] == "pong"


async def test_ephemeral_topics_reach_subscribers(
    tmp_path: Path, live_server: Any, fake_store_factory: Any, hall_config: Any
) -> None:
    app = create_app(_settings(tmp_path), config=hall_config, store_factory=fake_store_factory)
    async with live_server(app) as base:
        services = app.state.services
        supervisor = {"Authorization": f"Bearer {account_token(services.auth, 'sup', Role.SUPERVISOR)}"}
        async with websockets.connect(base.replace("http", "ws") + "/ws", additional_headers=supervisor) as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["devices"]}))
            snap = await _recv(ws)
            assert snap["type"] == "snapshot" and snap["data"]["devices"] == []  # the device manager's, empty
            services.hub.publish_ephemeral("device.health", ("devices",), {"id": "printer-k1", "state": "fault"})
            services.hub.publish_ephemeral("alert.raised", ("alerts",), {"kind": "long_wait"})
            message = await _recv(ws)
            assert message["type"] == "device.health" and message["data"]["id"] == "printer-k1"
            assert "seq" not in message


class _FakeSocket:
    """Stands in for a websocket: records sent messages; a stalled one blocks in send."""

    app = SimpleNamespace(state=SimpleNamespace())  # no services: the connection reads no config
    def __init__(self, stalled: bool = False) -> None:
        self.scope: dict[str, Any] = {"extensions": {}}  # no frame writer: every event takes the queued path
        self.sent: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        if not stalled:
            self.gate.set()

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(json.loads(text))

    async def close(self, code: int = 1000) -> None:
        self.gate.set()


async def test_a_stalled_websocket_gets_resync_while_others_get_everything() -> None:
    from server.api.ws import Connection

    hub = Hub(maxsize=8)
    stalled_ws, fast_ws = _FakeSocket(stalled=True), _FakeSocket()
    stalled = Connection(stalled_ws, hub, 8)  # type: ignore[arg-type]
    fast = Connection(fast_ws, hub, 8)  # type: ignore[arg-type]
    for conn in (stalled, fast):
        conn.sub.topics.add("hall")
    pumps = [asyncio.create_task(c.pump()) for c in (stalled, fast)]
    for seq in range(1, 201):
        hub.publish(_issued(seq))
        await asyncio.sleep(0)
    async with asyncio.timeout(5):
        while len(fast_ws.sent) < 200:
            await asyncio.sleep(0.01)
    assert [m["seq"] for m in fast_ws.sent] == list(range(1, 201))
    assert [m["prev"] for m in fast_ws.sent] == list(range(0, 200))
    assert stalled_ws.sent == []  # still stuck in its first send

    stalled_ws.gate.set()  # the slow client reads again
    hub.publish(_issued(201))
    async with asyncio.timeout(5):
        while not stalled_ws.sent or stalled_ws.sent[-1].get("seq") != 201:
            await asyncio.sleep(0.01)
    types = [m["type"] for m in stalled_ws.sent]
    assert "resync" in types
    assert len(stalled_ws.sent) < 20  # the backlog was dropped, not delivered late
    await hub.stop()
    for pump in pumps:
        pump.cancel()


async def test_an_event_is_encoded_once_for_all_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.api.ws import Connection

    encoded: list[int] = []
    to_message = Event.to_message

    def counting(self: Event) -> dict[str, Any]:
        encoded.append(self.seq or 0)
        return to_message(self)

    monkeypatch.setattr(Event, "to_message", counting)
    hub = Hub(maxsize=8)
    sockets = [_FakeSocket() for _ in range(5)]
    conns = [Connection(ws, hub, 8) for ws in sockets]  # type: ignore[arg-type]
    for conn in conns:
        conn.sub.topics.add("hall")
    pumps = [asyncio.create_task(c.pump()) for c in conns]
    for seq in (1, 2, 3):
        hub.publish(_issued(seq))
    async with asyncio.timeout(5):
        while any(len(ws.sent) < 3 for ws in sockets):
            await asyncio.sleep(0.01)
    assert encoded == [1, 2, 3]  # once per event, not once per client
    for ws in sockets:
        assert [(m["seq"], m["prev"], m["data"]["ticket"]["number"]) for m in ws.sent] == [
            (1, 0, "A001"), (2, 1, "A002"), (3, 2, "A003")]
    await hub.stop()
    for pump in pumps:
        pump.cancel()


def test_events_round_trip_through_the_wire_form() -> None:
    event = _issued(7)
    assert Event.from_message(json.loads(event.frame())) == event
    health = Event.of("device.health", ("devices",), {"device": {"id": "led-w3"}})
    assert health.to_message() == {"type": "device.health", "topics": ["devices"], "data": {"device": {"id": "led-w3"}}}
    with pytest.raises(ValueError):
        Event.of("no.such.type", (), {})
