"""Against a real port with ``hallq serve``'s uvicorn options: §2 (High) oversized websocket frames,
§9 forged X-Forwarded-For, §10 slowloris, §7 websockets outliving their principal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from server.auth.service import AuthSettings
from server.auth.tables import audit_log, login_attempts

from .conftest import Live, live_token, serve


def _healthz_while(live: Live, attack: Any, seconds: float = 6.0) -> list[float]:
    """Answer times of /healthz polled while ``attack(stop)`` runs in a thread."""
    stop = threading.Event()
    thread = threading.Thread(target=attack, args=(stop,), daemon=True)
    thread.start()
    times: list[float] = []
    try:
        with httpx.Client(base_url=live.url, timeout=5) as c:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                t0 = time.monotonic()
                assert c.get("/healthz").status_code == 200
                times.append(time.monotonic() - t0)
                time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    return times


def test_healthz_answers_while_a_client_sends_oversized_websocket_frames(live: Live) -> None:
    frame = json.dumps({"op": "ping", "pad": ["x" * 1000] * 15_000})  # ~15 MB, as in the review
    closes: list[int | None] = []

    def attack(stop: threading.Event) -> None:
        async def run() -> None:
            while not stop.is_set() and len(closes) < 8:
                try:
                    async with websockets.connect(live.ws_url, max_size=None) as ws:
                        await ws.send(frame)
                        await asyncio.wait_for(ws.recv(), 10)
                except websockets.ConnectionClosed as exc:
                    closes.append(exc.rcvd.code if exc.rcvd else None)
                except (OSError, TimeoutError):
                    closes.append(None)

        asyncio.run(run())

    times = _healthz_while(live, attack)
    assert times and max(times) < 1.0, f"/healthz took up to {max(times):.2f} s"
    assert closes and 1009 in closes  # the server refused the frames (message too big)


# -- §9: proxy headers ---------------------------------------------------------------------------------


def test_forged_forwarded_for_changes_neither_lockout_nor_audit(live: Live) -> None:
    with httpx.Client(base_url=live.url, timeout=10) as c:
        for _ in range(5):
            assert c.post("/api/auth/token", data={"username": "clerk16", "password": "wrong"}).status_code == 400
        good = {"username": "clerk16", "password": "clerk16-demo", "scope": "window:16"}
        assert c.post("/api/auth/token", data=good).status_code == 429
        forged = c.post("/api/auth/token", data=good, headers={"X-Forwarded-For": "10.9.9.9"})
        assert forged.status_code == 429  # the forged address is not a fresh lockout key
        admin = live_token(live, "admin")
        r = c.post("/api/accounts", headers={**admin, "X-Forwarded-For": "203.0.113.66"},
                   json={"username": "forged1", "name": "x", "role": "supervisor", "password": "Str0ng-pass-x"})
        assert r.status_code in (200, 201), r.text
    engine = live.app.state.services.auth.engine
    with engine.connect() as conn:
        ips = {row.ip for row in conn.execute(select(audit_log.c.ip))} | {
            row.ip for row in conn.execute(select(login_attempts.c.ip))}
    assert "203.0.113.66" not in ips and "10.9.9.9" not in ips
    assert "127.0.0.1" in ips


def test_a_named_proxy_is_believed(app: Any) -> None:
    settings = AuthSettings(trust_proxy="127.0.0.1")
    with serve(app, settings) as live:
        live.app.state.services.auth.settings = settings
        with httpx.Client(base_url=live.url, timeout=10) as c:
            for _ in range(5):
                c.post("/api/auth/token", data={"username": "clerk15", "password": "wrong"},
                       headers={"X-Forwarded-For": "10.0.0.1"})
            good = {"username": "clerk15", "password": "clerk15-demo", "scope": "window:15"}
            assert c.post("/api/auth/token", data=good, headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 429
            assert c.post("/api/auth/token", data=good, headers={"X-Forwarded-For": "10.0.0.2"}).status_code == 200


# -- §10: slowloris ----------------------------------------------------------------------------------


def test_half_open_connections_are_timed_out_and_do_not_lock_everyone_out(app: Any) -> None:
    settings = AuthSettings(header_timeout_seconds=1.0, connections_per_address=1000, max_connections=1000)
    with serve(app, settings) as live:
        held: list[socket.socket] = []
        try:
            for i in range(300):  # 300 requests whose headers never finish
                s = socket.create_connection(("127.0.0.1", live.port))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
                held.append(s)
            assert all(_closed_by_server(s) for s in held)  # dropped at the header deadline, not left open
            with httpx.Client(base_url=live.url, timeout=5) as c:
                assert c.get("/healthz").status_code == 200
            assert len(live.server.server_state.connections) < 50
        finally:
            for s in held:
                s.close()


def _closed_by_server(s: socket.socket, timeout: float = 10.0) -> bool:
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_connections_per_address_are_capped(app: Any) -> None:
    settings = AuthSettings(header_timeout_seconds=30.0, connections_per_address=20)
    with serve(app, settings) as live:
        held = [socket.create_connection(("127.0.0.1", live.port)) for _ in range(30)]
        try:
            refused = 0
            for s in held:
                s.settimeout(5)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                try:
                    answer = s.recv(1024)
                except (ConnectionResetError, TimeoutError):
                    answer = b""
                refused += answer == b""
            assert refused >= 9
        finally:
            for s in held:
                s.close()


# -- §7: websockets re-check their principal -------------------------------------------------------------


def fresh_supervisor(live: Live, username: str) -> tuple[int, dict[str, str]]:
    """A new supervisor account that has changed its one-time password: (id, Authorization header)."""
    admin = live_token(live, "admin")
    with httpx.Client(base_url=live.url, timeout=10) as c:
        r = c.post("/api/accounts", headers=admin, json={"username": username, "name": "值班", "role": "supervisor",
                                                        "password": "Str0ng-pass-10"})
        assert r.status_code in (200, 201), r.text
        account_id = r.json()["id"]
        pending = live_token(live, username, "Str0ng-pass-10")
        r = c.post("/api/auth/password", headers=pending,
                   json={"old_password": "Str0ng-pass-10", "new_password": "An0ther-pass-10"})
        assert r.status_code == 200, r.text
        return account_id, {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_deactivated_supervisor_loses_the_websocket_within_seconds(live: Live) -> None:
    admin = live_token(live, "admin")
    account_id, sup = fresh_supervisor(live, "sup10")

    async def run() -> int | None:
        async with websockets.connect(live.ws_url, additional_headers=sup) as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["devices"]}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "snapshot" and first["topic"] == "devices", first
            async with httpx.AsyncClient(base_url=live.url, timeout=10) as c:
                r = await c.patch(f"/api/accounts/{account_id}", headers=admin, json={"active": False})
                assert r.status_code == 200, r.text
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    assert message.get("type") not in ("snapshot",) or message.get("topic") != "devices"
            except websockets.ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd else None
        return None

    assert asyncio.run(run()) == 4401


def test_one_time_password_account_gets_no_manager_topics(live: Live) -> None:
    admin = live_token(live, "admin")
    with httpx.Client(base_url=live.url, timeout=10) as c:  # a new account holds a one-time password
        r = c.post("/api/accounts", headers=admin, json={"username": "sup11", "name": "x", "role": "supervisor",
                                                        "password": "Str0ng-pass-11"})
        assert r.status_code in (200, 201), r.text
    pending = live_token(live, "sup11", "Str0ng-pass-11")

    async def run() -> dict[str, Any]:
        async with websockets.connect(live.ws_url, additional_headers=pending) as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["devices"]}))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]

    answer = asyncio.run(run())
    assert answer["type"] == "error" and answer["code"] == "forbidden_topic"


@pytest.fixture(autouse=True)
def _quiet_websockets_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR", logger="websockets")


def _closed_code(live: Live, headers: dict[str, str], topic: str, end: Any) -> int | None:
    """Open a websocket, follow ``topic``, run ``end()``; the close code the server sends."""

    async def run() -> int | None:
        async with websockets.connect(live.ws_url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": [topic]}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "snapshot", first
            await asyncio.to_thread(end)
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 15)
            except websockets.ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd else None

    return asyncio.run(run())


def test_revoked_device_token_ends_its_websocket(live: Live) -> None:
    admin = live_token(live, "admin")
    with httpx.Client(base_url=live.url, timeout=10) as c:
        made = c.post("/api/devices/tokens", headers=admin, json={"role": "kiosk", "name": "k1", "kiosk": "k1"})
        assert made.status_code == 201, made.text
        token, token_id = made.json()["token"], made.json()["id"]

        def revoke() -> None:
            assert c.post(f"/api/devices/tokens/{token_id}/revoke", headers=admin).status_code == 200

        assert _closed_code(live, {"Authorization": f"Bearer {token}"}, "kiosk:k1", revoke) == 4401


def test_password_change_ends_the_old_tokens_websocket(live: Live) -> None:
    _, sup = fresh_supervisor(live, "sup12")

    def change() -> None:
        with httpx.Client(base_url=live.url, timeout=10) as c:
            r = c.post("/api/auth/password", headers=sup,
                       json={"old_password": "An0ther-pass-10", "new_password": "Th1rd-pass-10"})
            assert r.status_code == 200, r.text

    assert _closed_code(live, sup, "alerts", change) == 4401


def test_megabyte_headers_are_refused_at_the_door(live: Live) -> None:
    with socket.create_connection(("127.0.0.1", live.port)) as s:
        s.settimeout(10)
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # the server may hang up mid-send
            s.sendall(b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer hqd_" + b"B" * 1_000_000
                      + b"\r\nConnection: close\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            while chunk := s.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 431") or answer == b""
    with httpx.Client(base_url=live.url, timeout=5) as c:
        assert c.get("/api/auth/me", headers={"Authorization": "Bearer hqd_demo-kiosk-k1"}).status_code == 200
