"""SMS notices through the production app: thresholds once, called, erasure, the HTTP gateway."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.config import HallConfig, NoticesConfig, SmsGatewayConfig
from server.notices import outbox
from server.store.tables import notice_contacts
from tests.support import demo_bearer, make_app, until_sync

MOBILE = "13800138000"
SECRET = "test-sms-secret"


def start_app(tmp_path: Path, config: HallConfig, **notices: Any) -> TestClient:
    server = config.server.model_copy(update={"secret_path": str(tmp_path / "secret.key")})
    cfg = config.model_copy(update={"notices": NoticesConfig(**notices), "server": server})
    manager = TestClient(make_app(tmp_path, cfg), raise_server_exceptions=False)
    return manager


@pytest.fixture
def app_with(tmp_path: Path, hall_config: HallConfig) -> Iterator[Callable[..., TestClient]]:
    managers: list[TestClient] = []

    def start(**notices: Any) -> TestClient:
        manager = start_app(tmp_path, hall_config, **notices)
        client = manager.__enter__()
        managers.append(manager)
        client.headers.update(demo_bearer(client, "admin"))
        return client

    yield start
    for manager in managers:
        manager.__exit__(None, None, None)


def issue(client: TestClient, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        r = client.post("/api/tickets", json={"service": "general"})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def notices_of(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/notices", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["notices"]
    return rows


def call_and_finish(client: TestClient, window: int = 1) -> dict[str, Any]:
    called = client.post(f"/api/windows/{window}/call-next")
    assert called.status_code == 200, called.text
    assert client.post(f"/api/windows/{window}/start").status_code == 200
    assert client.post(f"/api/windows/{window}/finish").status_code == 200
    body: dict[str, Any] = called.json()
    return body


def test_near_fires_exactly_once_at_the_threshold_then_called(app_with: Callable[..., TestClient],
                                                            tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = app_with(channel="log", near_ahead=1, near_minutes=None, keep_hours=0)
    tickets = issue(client, 4)
    mine = tickets[3]
    r = client.post(f"/api/tickets/by-token/{mine['token']}/notify", json={"mobile": "+86 138-0013-8000"},
                    headers={"Authorization": ""})  # fmt: skip  # public: the token is the credential
    assert r.status_code == 200, r.text
    assert r.json()["masked"] == "138****8000" and r.json()["near_ahead"] == 1
    assert client.post("/api/windows/1/open", json={}).status_code in (200, 409)

    call_and_finish(client)  # A001 called: 2 ahead of mine — not yet
    assert [n for n in notices_of(client) if n["kind"] == "near"] == []
    call_and_finish(client)  # A002 called: 1 ahead — the threshold
    until_sync(lambda: [n for n in notices_of(client) if n["kind"] == "near"])
    call_and_finish(client)  # A003 called: 0 ahead — still one notice
    called = call_and_finish(client)  # mine
    assert called["id"] == mine["id"]
    until_sync(lambda: any(n["kind"] == "called" for n in notices_of(client)))
    until_sync(lambda: all(n["state"] == "sent" for n in notices_of(client)))
    rows = notices_of(client)
    assert sorted(n["kind"] for n in rows) == ["called", "near"]
    near = next(n for n in rows if n["kind"] == "near")
    assert f"您的{mine['number']}号" in near["text"] and "前面还有1人" in near["text"]
    assert "1号窗口" in next(n for n in rows if n["kind"] == "called")["text"]
    assert all(n["masked"] == "138****8000" for n in rows)

    # the ticket ended: with keep_hours 0 the sweep erases the number (masked + hash stay)
    service = client.app.state.services.notices  # type: ignore[attr-defined]
    engine = client.app.state.services.store.engine  # type: ignore[attr-defined]

    def sweep() -> int:
        with engine.begin() as conn:
            return outbox.erase_due(conn, now_ms=service.now_ms() + 1)

    until_sync(lambda: sweep() or _erased(engine, mine["id"]))
    with engine.connect() as conn:
        row = conn.execute(select(notice_contacts)).one()
    assert row.phone is None and row.erased_at is not None and row.masked == "138****8000"
    assert row.phone_hash == service.phone_hash(MOBILE)
    # no full number anywhere: database file (and WAL), logs, the answers
    for db in tmp_path.glob("hall.db*"):
        blob = db.read_bytes()
        assert MOBILE.encode() not in blob and MOBILE.encode("utf-16-le") not in blob, db
    assert MOBILE not in caplog.text
    assert MOBILE not in json.dumps(notices_of(client))


def _erased(engine: Any, ticket_id: int) -> bool:
    with engine.connect() as conn:
        phone = conn.execute(select(notice_contacts.c.phone).where(notice_contacts.c.ticket_id == ticket_id)).scalar()
    return phone is None


def test_attaching_within_the_threshold_sends_at_once_and_detach_erases(app_with: Callable[..., TestClient]) -> None:
    client = app_with(channel="log", near_ahead=3, near_minutes=None)
    (first,) = issue(client, 1)
    assert client.post(f"/api/tickets/by-token/{first['token']}/notify", json={"mobile": MOBILE}).status_code == 200
    until_sync(lambda: [n for n in notices_of(client) if n["kind"] == "near"])
    # attaching again does not queue a second 即将到号
    assert client.post(f"/api/tickets/by-token/{first['token']}/notify", json={"mobile": MOBILE}).status_code == 200
    assert len([n for n in notices_of(client) if n["kind"] == "near"]) == 1
    assert client.delete(f"/api/tickets/by-token/{first['token']}/notify").status_code == 204
    engine = client.app.state.services.store.engine  # type: ignore[attr-defined]
    assert _erased(engine, first["id"])


@pytest.mark.parametrize("mobile", ["12345", "23800138000", "138001380001", "１３８００１３８０００"])
def test_bad_numbers_and_tokens_are_refused(app_with: Callable[..., TestClient], mobile: str) -> None:
    client = app_with(channel="log")
    (ticket,) = issue(client, 1)
    r = client.post(f"/api/tickets/by-token/{ticket['token']}/notify", json={"mobile": mobile})
    assert r.status_code == 422 and r.json()["code"] == "invalid_mobile", r.text
    r = client.post("/api/tickets/by-token/not-a-token/notify", json={"mobile": MOBILE})
    assert r.status_code == 404


# --- the HTTP gateway ------------------------------------------------------------------------------


class Gateway:
    """A local SMS gateway: checks the signature, refuses one number with an error code."""

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # http.server's method name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stamp, _, mac = (self.headers.get("X-Hallq-Signature") or "").partition(",v1=")
                expected = hmac.new(SECRET.encode(), stamp.removeprefix("t=").encode() + b"." + body,
                                    hashlib.sha256).hexdigest()  # fmt: skip
                if not hmac.compare_digest(mac, expected):
                    outer.bad_signatures += 1
                    self._answer(401, {"code": "401", "msg": "bad signature"})
                    return
                data = json.loads(body)
                outer.received.append(data)
                if data["mobile"] == outer.refuse:
                    self._answer(200, {"code": "40012", "msg": "号码在黑名单中"})
                else:
                    self._answer(200, {"code": "0", "msgid": f"m{len(outer.received)}"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway(refuse="13900139000")
    yield g
    g.close()


def test_http_gateway_sends_signed_and_a_refusal_is_marked_failed(app_with: Callable[..., TestClient],
                                                                  gateway: Gateway,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLQ_SMS_SECRET", SECRET)
    client = app_with(channel="http", near_ahead=5, near_minutes=None,
                      http=SmsGatewayConfig(url=gateway.url, timeout_s=5))
    good, refused = issue(client, 2)
    assert client.post(f"/api/tickets/by-token/{good['token']}/notify", json={"mobile": MOBILE}).status_code == 200
    assert client.post(f"/api/tickets/by-token/{refused['token']}/notify",
                       json={"mobile": "13900139000"}).status_code == 200
    until_sync(lambda: {n["state"] for n in notices_of(client)} == {"sent", "failed"}, timeout=10)
    assert gateway.bad_signatures == 0
    assert {r["mobile"] for r in gateway.received} == {MOBILE, "13900139000"}
    assert all(r["content"].startswith("【") for r in gateway.received)
    (failed,) = notices_of(client, state="failed")
    assert failed["masked"] == "139****9000" and "40012" in failed["last_error"] and failed["attempts"] == 1
    # visible to supervisors: the alert inbox has it
    alerts = client.get("/api/alerts").json()["items"]
    assert any(a["type"] == "notice_failed" and "139****9000" in a["message"] for a in alerts)
    # a supervisor may retry it (refused again: failed again, never lost)
    assert client.post(f"/api/notices/{failed['id']}/retry").status_code == 204
    until_sync(lambda: len(gateway.received) == 3 and notices_of(client, state="failed"), timeout=10)
    assert client.post(f"/api/notices/{notices_of(client, state='sent')[0]['id']}/retry").status_code == 409


def test_a_gateway_that_is_down_is_retried_with_backoff(app_with: Callable[..., TestClient]) -> None:
    client = app_with(channel="http", near_ahead=5, near_minutes=None, backoff_base_s=0.05, backoff_max_s=0.1,
                      max_attempts=3, http=SmsGatewayConfig(url="http://127.0.0.1:9/sms", timeout_s=1))
    (ticket,) = issue(client, 1)
    assert client.post(f"/api/tickets/by-token/{ticket['token']}/notify", json={"mobile": MOBILE}).status_code == 200
    until_sync(lambda: notices_of(client, state="failed"), timeout=15)
    (failed,) = notices_of(client, state="failed")
    assert failed["attempts"] == 3 and "unreachable" in failed["last_error"]


def test_the_supervisor_list_needs_a_supervisor(app_with: Callable[..., TestClient]) -> None:
    client = app_with(channel="log")
    assert client.get("/api/notices", headers={"Authorization": ""}).status_code == 401
    assert client.get("/api/notices", headers=demo_bearer(client, "clerk1")).status_code == 403


def test_a_remote_device_host_claims_settles_and_reports(app_with: Callable[..., TestClient]) -> None:
    from tests.support import DEMO_DEVICE_HOST

    client = app_with(channel="modem", near_ahead=5, near_minutes=None)
    (ticket,) = issue(client, 1)
    assert client.post(f"/api/tickets/by-token/{ticket['token']}/notify", json={"mobile": MOBILE}).status_code == 200
    until_sync(lambda: notices_of(client))
    assert client.post("/api/notices/claim", json={"sender": "h1"}).status_code == 403  # full numbers: hosts only
    claim = client.post("/api/notices/claim", json={"sender": "host-a"}, headers=DEMO_DEVICE_HOST)
    assert claim.status_code == 200, claim.text
    (item,) = claim.json()["notices"]
    assert item["phone"] == MOBILE and item["kind"] == "near"
    # claimed: a second host gets nothing
    assert client.post("/api/notices/claim", json={"sender": "host-b"}, headers=DEMO_DEVICE_HOST).json() == {
        "notices": []}
    settled = client.post(f"/api/notices/{item['id']}/settle", json={"sender": "host-a", "sent": True, "refs": "7,8"},
                          headers=DEMO_DEVICE_HOST)  # fmt: skip
    assert settled.status_code == 204
    assert client.post("/api/notices/delivered", json={"ref": 8, "status": 0, "delivered": True},
                       headers=DEMO_DEVICE_HOST).status_code == 204  # fmt: skip
    (row,) = notices_of(client)
    assert row["state"] == "delivered" and row["refs"] == "7,8"


def test_a_hanging_gateway_never_holds_a_call(app_with: Callable[..., TestClient], gateway: Gateway,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLQ_SMS_SECRET", SECRET)
    release = threading.Event()
    original = gateway.server.RequestHandlerClass.do_POST  # type: ignore[attr-defined]

    def hang(handler: Any) -> None:
        release.wait(30)  # the gateway takes the request and does not answer
        original(handler)

    gateway.server.RequestHandlerClass.do_POST = hang  # type: ignore[attr-defined]
    client = app_with(channel="http", near_ahead=0, near_minutes=None, http=SmsGatewayConfig(url=gateway.url))
    first, mine = issue(client, 2)
    assert client.post(f"/api/tickets/by-token/{mine['token']}/notify", json={"mobile": MOBILE}).status_code == 200
    assert client.post("/api/windows/1/open", json={}).status_code in (200, 409)
    assert client.post("/api/windows/1/call-next").json()["id"] == first["id"]
    until_sync(lambda: notices_of(client, state="sending"))  # 即将到号 is stuck at the gateway…
    assert client.post("/api/windows/1/finish").status_code == 200  # …and calls go on
    assert client.post("/api/windows/1/call-next").json()["id"] == mine["id"]
    release.set()
    until_sync(lambda: {n["state"] for n in notices_of(client)} == {"sent"} and len(notices_of(client)) == 2,
               timeout=15)


def test_a_transferred_number_follows_the_child_ticket_to_its_call(app_with: Callable[..., TestClient]) -> None:
    client = app_with(channel="log", near_ahead=None, near_minutes=None)
    service = client.app.state.services.notices  # type: ignore[attr-defined]
    (mine,) = issue(client, 1)
    r = client.post(f"/api/tickets/by-token/{mine['token']}/notify", json={"mobile": MOBILE},
                    headers={"Authorization": ""})  # fmt: skip
    assert r.status_code == 200, r.text
    # hold the events back, then hand them over as ONE batch: the transfer and the child's call together
    held: list[Any] = []
    follow = service._on_ticket_events

    async def hold(events: list[Any]) -> None:
        held.extend(events)

    service._on_ticket_events = hold
    for window in (1, 8):
        assert client.post(f"/api/windows/{window}/open", json={}).status_code in (200, 409)
    assert client.post("/api/windows/1/call-next").json()["id"] == mine["id"]
    assert client.post("/api/windows/1/start").status_code == 200
    child = client.post("/api/windows/1/transfer", json={"to_service": "fund"})
    assert child.status_code == 200, child.text
    called = client.post("/api/windows/8/call-next")
    assert called.status_code == 200 and called.json()["id"] == child.json()["id"], called.text
    until_sync(lambda: sum(e.type.value == "ticket.called" for e in held) == 2)
    service._on_ticket_events = follow
    client.portal.call(follow, list(held))  # type: ignore[union-attr]
    until_sync(lambda: len([n for n in notices_of(client) if n["kind"] == "called"]) == 2)
    rows = notices_of(client)
    assert sorted(n["key"] for n in rows) == sorted([f"ticket:{mine['id']}", f"ticket:{child.json()['id']}"])
    assert any("8号窗口" in n["text"] for n in rows)
    engine = client.app.state.services.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:  # the parent's number is released (erased later), the child's kept
        erase = dict(conn.execute(select(notice_contacts.c.key, notice_contacts.c.erase_at)).all())
    assert erase[f"ticket:{mine['id']}"] is not None and erase[f"ticket:{child.json()['id']}"] is None


def test_the_watcher_read_finds_kept_numbers_only(app_with: Callable[..., TestClient]) -> None:
    client = app_with(channel="log")
    engine = client.app.state.services.store.engine  # type: ignore[attr-defined]
    rows = [("ticket:1", "sealed", 1, None), ("ticket:2", "sealed", 2, 5),  # 2: released, erased later
            ("ticket:3", None, 3, 5), ("appointment:X", "sealed", None, None)]  # 3: erased; a booking
    with engine.begin() as conn:
        for key, phone, ticket_id, erase_at in rows:
            outbox.remember(conn, key, phone or "", "138****8000", "h", ticket_id=ticket_id, now_ms=1,
                            erase_at=erase_at)
            if phone is None:
                outbox.forget(conn, key, now_ms=5)
    with engine.connect() as conn:
        assert outbox.watch(conn, ["ticket:9"]) == (set(), [1])
        assert outbox.watch(conn, ["ticket:1", "ticket:2", "ticket:3", "appointment:X"]) == (
            {"ticket:1", "ticket:2", "appointment:X"}, [1])
