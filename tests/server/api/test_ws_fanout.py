"""The websocket fan-out pass: frames written on the publisher's turn, the queued path for the rest.

Unit tests drive ``server/api/ws.py`` ``Connection`` with a socket that takes ready frames (as
``server/auth/serving.py`` ``FanoutWebSocketProtocol`` does); the live tests run the production
app under uvicorn with ``hallq serve``'s options and real websocket clients.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from server.api.ws import Connection
from server.auth import Principal, Role
from server.auth.serving import FanoutWebSocketProtocol
from server.auth.wsframes import FRAME_WRITER, text_frame
from server.hall.hub import Hub
from server.queue.events import Event, EventType, TicketEvent
from server.queue.views import TicketView
from tests.security.conftest import DEVICE, config_in, live_token, serve
from tests.support import make_app
from tests.support.polling import until


def _issued(seq: int, topics: tuple[str, ...] = ("hall",)) -> Event:
    """A committed ``ticket.issued`` event carrying a masked identity."""
    ticket = TicketView(id=seq, number=f"A{seq:03d}", service="general", service_name="综合", state="issued",
                        priority="normal", channel="kiosk", window=None, issued_at="2026-11-27T09:00:00+08:00",
                        called_at=None, started_at=None, finished_at=None, recall_count=0, ahead=0, eta_minutes=None,
                        parent_id=None, masked_id="110101********1234", masked_name="张*", rating=None,
                        business_day="2026-11-27", kiosk=None)
    return Event(EventType.TICKET_ISSUED, topics, TicketEvent(ticket), seq, "2026-11-27T09:00:00+08:00")


def _parse(frame: bytes) -> dict[str, Any]:
    """Check a server text frame's header and return its JSON."""
    assert frame[0] == 0x81  # FIN + text, unmasked below
    n, at = frame[1], 2
    assert n & 0x80 == 0
    if n == 126:
        n, at = int.from_bytes(frame[2:4], "big"), 4
    elif n == 127:
        n, at = int.from_bytes(frame[2:10], "big"), 10
    assert len(frame) == at + n
    message: dict[str, Any] = json.loads(frame[at:].decode())
    return message


class _Socket:
    """A websocket that takes ready frames (the fast path) and queued texts (the pump's path).

    ``paused`` makes the writer refuse (a transport above its high-water mark); ``stalled`` also
    blocks ``send_text`` until ``gate`` opens (a client that stopped reading); ``broken`` raises.
    """

    app = SimpleNamespace(state=SimpleNamespace())

    def __init__(self, paused: bool = False, stalled: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.paused = paused
        self.broken = False
        self.gate = asyncio.Event()
        if not stalled:
            self.gate.set()
        self.scope: dict[str, Any] = {"extensions": {FRAME_WRITER: self.write}}

    def write(self, frame: bytes) -> bool:
        if self.broken:
            raise ConnectionResetError("gone")
        if self.paused or not self.gate.is_set():
            return False
        self.sent.append(_parse(frame))
        self.paths.append("direct")
        return True

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        if self.broken:
            raise ConnectionResetError("gone")
        self.sent.append(json.loads(text))
        self.paths.append("queued")

    async def close(self, code: int = 1000) -> None:
        self.gate.set()


def _connect(hub: Hub, ws: _Socket, principal: Principal | None = None) -> tuple[Connection, asyncio.Task[None]]:
    conn = Connection(ws, hub, 8, principal)  # type: ignore[arg-type]
    conn.sub.topics.add("hall")
    return conn, asyncio.create_task(conn.pump())


def _chain(ws: _Socket) -> list[tuple[int, int]]:
    return [(m["seq"], m["prev"]) for m in ws.sent if m["type"] == "ticket.issued"]


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(0, 300), st.integers(65_000, 66_000), st.sampled_from([125, 126, 65_535, 65_536])))
def test_a_text_frame_is_the_one_websockets_would_send(length: int) -> None:
    payload = ("漢a" * length).encode()[:length]
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False)


async def test_idle_connections_are_written_on_the_publishers_turn_one_frame_shared() -> None:
    hub = Hub(maxsize=8)
    sockets = [_Socket() for _ in range(20)]
    pumps = [_connect(hub, ws)[1] for ws in sockets]
    for seq in (1, 2, 3):
        hub.publish(_issued(seq))
    # no await in between: every frame went out during publish, not through 20 pump tasks
    for ws in sockets:
        assert ws.paths == ["direct"] * 3
        assert _chain(ws) == [(1, 0), (2, 1), (3, 2)]
    for pump in pumps:
        pump.cancel()


async def test_prev_and_order_hold_when_the_fast_and_queued_paths_mix() -> None:
    hub = Hub(maxsize=64)
    flaky, steady = _Socket(), _Socket()
    conn, pump = _connect(hub, flaky)
    _, other = _connect(hub, steady)
    for seq in range(1, 41):
        flaky.paused = seq % 7 in (3, 4)  # the transport fills now and then
        hub.publish(_issued(seq))
        if seq % 5 == 0:
            conn.sub.offer({"type": "pong", "seq": seq})  # control messages always queue
        if seq % 3 == 0:
            await asyncio.sleep(0)  # sometimes the pump gets a turn, sometimes not
    flaky.paused = False
    await until(lambda: len(_chain(flaky)) == 40, timeout=5)
    assert set(flaky.paths) == {"direct", "queued"}  # both paths were taken
    assert _chain(flaky) == [(s, s - 1) for s in range(1, 41)]
    pongs = [i for i, m in enumerate(flaky.sent) if m["type"] == "pong"]
    for i in pongs:  # a pong follows every event published before its ping
        assert flaky.sent[i - 1]["seq"] == flaky.sent[i]["seq"]
    assert steady.paths == ["direct"] * 40 and _chain(steady) == [(s, s - 1) for s in range(1, 41)]
    for task in (pump, other):
        task.cancel()


async def test_a_stalled_reader_gets_resync_and_the_others_get_everything_at_once() -> None:
    hub = Hub(maxsize=8)
    stalled = _Socket(stalled=True)
    others = [_Socket() for _ in range(5)]
    pumps = [_connect(hub, ws)[1] for ws in (stalled, *others)]
    for seq in range(1, 101):
        hub.publish(_issued(seq))
        await asyncio.sleep(0)
    for ws in others:
        assert ws.paths == ["direct"] * 100
        assert _chain(ws) == [(s, s - 1) for s in range(1, 101)]
    assert stalled.sent == []
    stalled.gate.set()  # it reads again
    hub.publish(_issued(101))
    await until(lambda: bool(stalled.sent) and stalled.sent[-1].get("seq") == 101, timeout=5)
    types = [m["type"] for m in stalled.sent]
    assert "resync" in types and len(stalled.sent) < 20  # the backlog was dropped, not buffered
    for pump in pumps:
        pump.cancel()


async def test_a_snapshot_in_flight_holds_the_fast_path_so_events_follow_it() -> None:
    hub = Hub(maxsize=8)
    ws = _Socket()
    conn, pump = _connect(hub, ws)
    async with conn.lock:  # what subscribe() holds while it reads and sends a snapshot
        hub.publish(_issued(1))
        assert ws.sent == []  # not written past the snapshot
    await until(lambda: len(ws.sent) == 1, timeout=5)
    assert ws.paths == ["queued"]
    hub.publish(_issued(2))
    assert ws.paths == ["queued", "direct"] and _chain(ws) == [(1, 0), (2, 1)]
    pump.cancel()


async def test_public_screens_get_the_redacted_frame_and_staff_the_full_one() -> None:
    hub = Hub(maxsize=8)
    public, display, clerk = _Socket(), _Socket(), _Socket()
    pumps = [_connect(hub, public)[1],
             _connect(hub, display, Principal(Role.DISPLAY, "display:hall"))[1],
             _connect(hub, clerk, Principal(Role.CLERK, "clerk1", windows=frozenset({1})))[1]]
    hub.publish(_issued(1))
    for ws in (public, display):
        ticket = ws.sent[0]["data"]["ticket"]
        assert "masked_id" not in ticket and "masked_name" not in ticket and ticket["number"] == "A001"
    assert clerk.sent[0]["data"]["ticket"]["masked_id"] == "110101********1234"
    assert {ws.paths[0] for ws in (public, display, clerk)} == {"direct"}
    for pump in pumps:
        pump.cancel()


async def test_a_connection_that_breaks_mid_fan_out_does_not_stop_the_others() -> None:
    hub = Hub(maxsize=8)
    sockets = [_Socket() for _ in range(6)]
    pumps = [_connect(hub, ws)[1] for ws in sockets]
    sockets[2].broken = True
    hub.publish(_issued(1))
    for i, ws in enumerate(sockets):
        if i != 2:
            assert _chain(ws) == [(1, 0)]
    await until(lambda: pumps[2].done(), timeout=5)  # its pump met the error and stopped
    hub.publish(_issued(2))
    for i, ws in enumerate(sockets):
        if i != 2:
            assert _chain(ws) == [(1, 0), (2, 1)]
    for pump in pumps:
        pump.cancel()


# -- live: the production app under uvicorn with hallq serve's options -------------------------

@pytest.fixture
def live(tmp_path: Path, demo_config: Any) -> Any:
    """The production app on a real port."""
    with serve(make_app(tmp_path, config_in(tmp_path, demo_config))) as running:
        yield running


async def _events(ws: Any, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(20):
        while len(out) < count:
            message = json.loads(await ws.recv())
            if message.get("seq") is not None and message["type"] != "snapshot":
                out.append(message)
    return out


async def _subscribed(url: str, headers: dict[str, str]) -> Any:
    ws = await websockets.connect(url, additional_headers=headers)
    await ws.send(json.dumps({"op": "subscribe", "topics": ["hall"]}))
    async with asyncio.timeout(20):
        while json.loads(await ws.recv()).get("type") != "snapshot":
            pass
    return ws


async def test_live_hall_displays_get_every_event_through_the_frame_writer(
        live: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[bytes] = []
    write = FanoutWebSocketProtocol.write_frame

    def counting(self: FanoutWebSocketProtocol, frame: bytes) -> bool:
        done = write(self, frame)
        if done:
            written.append(frame)
        return done

    monkeypatch.setattr(FanoutWebSocketProtocol, "write_frame", counting)
    clerk = live_token(live, "clerk1", window=1)
    displays = [await _subscribed(live.ws_url, DEVICE["display"]) for _ in range(3)]
    staff = await _subscribed(live.ws_url, clerk)
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        for _ in range(3):
            (await http.post("/api/tickets", json={"service": "general"}, headers=DEVICE["kiosk"])).raise_for_status()
    got = [await _events(ws, 3) for ws in (*displays, staff)]
    for events in got:
        assert [e["type"] for e in events] == ["ticket.issued"] * 3
        assert [e["prev"] for e in events[1:]] == [e["seq"] for e in events[:-1]]
    assert got[0] == got[1] == got[2]
    assert all("masked_id" not in e["data"]["ticket"] for e in got[0])  # the public variant
    assert all("masked_id" in e["data"]["ticket"] for e in got[3])  # staff's (empty for a kiosk ticket)
    assert len(written) >= 12  # 4 clients × 3 events, each a ready frame (not uvicorn's send)
    for ws in (*displays, staff):
        await ws.close()


async def test_live_a_client_that_vanishes_mid_fan_out_leaves_the_others_served(live: Any) -> None:
    displays = [await _subscribed(live.ws_url, DEVICE["display"]) for _ in range(3)]
    gone = await _subscribed(live.ws_url, DEVICE["display"])
    raw = gone.transport.get_extra_info("socket")
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    gone.transport.abort()
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        for _ in range(2):
            (await http.post("/api/tickets", json={"service": "general"}, headers=DEVICE["kiosk"])).raise_for_status()
    got = [await _events(ws, 2) for ws in displays]
    assert got[0] == got[1] == got[2] and got[0][1]["prev"] == got[0][0]["seq"]
    for ws in displays:
        await ws.close()


def _answers(port: int) -> bool:
    """True when a new connection gets an HTTP answer (False: refused at the per-address cap)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            return s.recv(64).startswith(b"HTTP/1.1 200")
        except (ConnectionResetError, TimeoutError):
            return False


async def test_websockets_hold_their_place_in_the_per_address_count_until_they_close(
        tmp_path: Path, demo_config: Any) -> None:
    from server.auth.service import AuthSettings

    settings = AuthSettings(connections_per_address=4)
    with serve(make_app(tmp_path, config_in(tmp_path, demo_config)), settings) as running:
        held = [await _subscribed(running.ws_url, DEVICE["display"]) for _ in range(4)]
        assert not await asyncio.to_thread(_answers, running.port)  # 4 upgraded connections still count
        for ws in held[:2]:
            await ws.close()
        await until(lambda: asyncio.to_thread(_answers, running.port), timeout=10)  # released on close
        for ws in held[2:]:
            await ws.close()
        for _ in range(6):  # nothing leaked: plain requests one after another keep being answered
            assert await asyncio.to_thread(_answers, running.port)
