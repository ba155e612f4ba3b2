"""The websocket ``/ws`` under abuse: §2 message size, §3 alerts, §4 identities and ticket topics,
§15 ws ``ticket:<huge>``, §16 caps and made-up topics, §18 Origin.

Each test reproduces the review's probe against the production app and asserts it is closed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.auth.service import AuthSettings
from server.auth.wsguard import MAX_MESSAGE, MAX_SUBSCRIPTIONS, ConnectionSlots
from server.queue.entities import IdentityRef

from .conftest import DEVICE

MASKED_ID, MASKED_NAME = "440524********0010", "张*明"


def _drain(ws: Any, until_type: str, limit: int = 500) -> list[dict[str, Any]]:
    """Messages up to and including the first of ``until_type`` (a pong is a barrier)."""
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        seen.append(message)
        if message.get("type") == until_type:
            return seen
    raise AssertionError(f"no {until_type} in {seen}")


def _subscribe(ws: Any, *topics: str, **extra: Any) -> list[dict[str, Any]]:
    ws.send_text(json.dumps({"op": "subscribe", "topics": list(topics), **extra}))
    ws.send_text(json.dumps({"op": "ping"}))
    return _drain(ws, "pong")


def _issue_with_identity(client: TestClient, bearer: Any, person: int = 0) -> dict[str, Any]:
    """A ticket carrying a masked ID and name (as an ID-card ticket does)."""
    identity = IdentityRef(f"{person:064x}", MASKED_ID, MASKED_NAME)
    services = client.app.state.services  # type: ignore[attr-defined]
    services.auth.settings = AuthSettings(issue_limits=False)
    portal = client.portal  # type: ignore[attr-defined]
    ticket: Any = portal.call(lambda: services.hall.issue("general", identity=identity, actor="test"))
    return ticket if isinstance(ticket, dict) else ticket.to_dict()


# -- §2: message size ---------------------------------------------------------------------


def test_oversized_message_closes_1009(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"op": "ping", "pad": "x" * (MAX_MESSAGE + 1)}))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009


def test_binary_frames_are_refused_not_crashed(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_bytes(b"\x00\x01not json")
        assert ws.receive_json()["code"] == "invalid_request"
        ws.send_bytes(b"x" * (MAX_MESSAGE + 1))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009


# -- §3 and §4: what public subscribers receive --------------------------------------------


def test_anonymous_subscriber_gets_no_alert_and_no_identity(client: TestClient, bearer: Any) -> None:
    ticket = _issue_with_identity(client, bearer)
    hub = client.app.state.services.hub  # type: ignore[attr-defined]
    clerk = bearer("clerk1", window=1)
    supervisor = bearer("supervisor")
    with client.websocket_connect("/ws") as anon, client.websocket_connect("/ws", headers=supervisor) as boss:
        seen = _subscribe(anon, "hall", "window:1", "window:2")
        _subscribe(boss, "alerts", "window:1")
        assert client.post("/api/windows/1/open", headers=clerk).status_code == 200
        called = client.post("/api/windows/1/call-next", headers=clerk)
        assert called.status_code == 200 and called.json()["masked_id"] == MASKED_ID  # staff see it
        # what CameraWiring publishes after a bad rating and on staff absence (server/cameras/wiring.py)
        alert = {"ticket_id": ticket["id"], "number": ticket["number"], "window": 1, "level": 1,
                 "snapshot": "/api/snapshots/2026-12-01/133053-rating-camera-1.jpg", "message": "1号窗口收到差评"}
        portal = client.portal  # type: ignore[attr-defined]
        portal.call(lambda: _publish(hub, "alert.bad_rating", ("alerts", "window:1", f"ticket:{ticket['id']}"), alert))
        portal.call(lambda: _publish(hub, "alert.clerk_absent", ("alerts", "window:1"), {"window": 1}))
        anon.send_text(json.dumps({"op": "ping"}))
        seen += _drain(anon, "pong")
        boss.send_text(json.dumps({"op": "ping"}))
        boss_seen = _drain(boss, "pong")
    text = json.dumps(seen, ensure_ascii=False)
    assert not [m for m in seen if str(m.get("type", "")).startswith("alert.")], text
    assert MASKED_ID not in text and MASKED_NAME not in text and "masked_id" not in text
    assert "snapshots" not in text
    assert {m["type"] for m in boss_seen} >= {"alert.bad_rating", "alert.clerk_absent"}


async def _publish(hub: Any, type_: str, topics: tuple[str, ...], data: dict[str, Any]) -> None:
    hub.publish_ephemeral(type_, topics, data)


def test_rest_views_for_screens_carry_no_identity(client: TestClient, bearer: Any) -> None:
    ticket = _issue_with_identity(client, bearer)
    clerk = bearer("clerk1", window=1)
    client.post("/api/windows/1/open", headers=clerk)
    client.post("/api/windows/1/call-next", headers=clerk)
    for headers in ({}, DEVICE["display"], DEVICE["kiosk"], DEVICE["display_w1"]):
        for url in ("/api/hall", f"/api/tickets/{ticket['id']}", "/api/windows/1", "/api/windows/1/waiting"):
            r = client.get(url, headers=headers)
            if r.status_code == 200:
                assert MASKED_ID not in r.text and MASKED_NAME not in r.text, (url, headers)
    assert MASKED_ID in client.get(f"/api/tickets/{ticket['id']}", headers=clerk).text


def test_ticket_topics_need_the_ticket_token(client: TestClient, bearer: Any) -> None:
    _issue_with_identity(client, bearer)
    with client.websocket_connect("/ws") as ws:
        answers = _subscribe(ws, *[f"ticket:{i}" for i in range(1, 30)])
    assert not [m for m in answers if m["type"] == "snapshot"]
    assert {m.get("code") for m in answers if m["type"] == "error"} == {"forbidden_topic"}


# -- §15, §16: made-up topics, caps -------------------------------------------------------------


def test_made_up_and_huge_topics_are_invalid_not_500(client: TestClient) -> None:
    topics = ["ticket:99999999999999999999", "hall:1", "hall:anything", "window:999", "window:x", "kiosk:zz",
              "ticket:³", "window:-1", "devices:x", "nonsense"]
    with client.websocket_connect("/ws") as ws:
        answers = _subscribe(ws, *topics)
    errors = {m["topic"]: m["code"] for m in answers if m["type"] == "error"}
    assert errors == dict.fromkeys(topics, "invalid_topic")


def test_subscriptions_per_connection_are_capped(client: TestClient, bearer: Any) -> None:
    ids = [_issue_with_identity(client, bearer, person)["id"] for person in range(MAX_SUBSCRIPTIONS)]
    clerk = bearer("clerk1", window=1)  # staff may follow ticket topics
    with client.websocket_connect("/ws", headers=clerk) as ws:
        first = _subscribe(ws, *[f"ticket:{i}" for i in ids])
        more = _subscribe(ws, "window:2", "hall")
    assert len([m for m in first if m["type"] == "snapshot"]) == MAX_SUBSCRIPTIONS
    assert {m.get("code") for m in more if m["type"] == "error"} == {"too_many_topics"}


def test_connections_per_address_are_capped(client: TestClient, app: Any) -> None:
    app.state.services.auth.ws_slots = ConnectionSlots(per_address=3, total=100)
    with client.websocket_connect("/ws"), client.websocket_connect("/ws"), client.websocket_connect("/ws"):
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws") as ws:
            ws.receive_json()
        assert refused.value.code == 1013
    with client.websocket_connect("/ws") as ws:  # slots are given back
        assert _subscribe(ws, "hall")[0]["type"] == "snapshot"


def test_message_rate_is_capped(client: TestClient, app: Any) -> None:
    app.state.services.auth.settings = AuthSettings(ws_message_rate="10/60")
    with client.websocket_connect("/ws") as ws:
        for _ in range(10):
            ws.send_text('{"op":"nope"}')
            assert ws.receive_json()["code"] == "invalid_request"
        ws.send_text('{"op":"nope"}')
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


# -- §18: Origin ----------------------------------------------------------------------------------


def test_cross_origin_websocket_is_refused(client: TestClient, bearer: Any) -> None:
    supervisor = bearer("supervisor")
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(
            "/ws", headers={**supervisor, "Origin": "http://evil.example:8080"}) as ws:
        ws.receive_json()
    with client.websocket_connect("/ws", headers={**supervisor, "Origin": "http://testserver"}) as ws:
        assert _subscribe(ws, "devices")[0]["type"] == "snapshot"


def test_the_ticket_holder_follows_their_ticket_with_its_token(client: TestClient, bearer: Any) -> None:
    client.app.state.services.auth.settings = AuthSettings(issue_limits=False)  # type: ignore[attr-defined]
    r = client.post("/api/tickets", headers=bearer("clerk1", window=1), json={"service": "general"})
    assert r.status_code == 201, r.text
    ticket = r.json()
    topic = f"ticket:{ticket['id']}"
    with client.websocket_connect("/ws") as ws:
        assert _subscribe(ws, topic, ticket_token="not-the-token")[0]["code"] == "forbidden_topic"
        answer = _subscribe(ws, topic, ticket_token=ticket["token"])[0]
    assert answer["type"] == "snapshot" and answer["data"]["id"] == ticket["id"]
    assert "token" not in answer["data"]


def test_restricted_events_reach_those_entitled_to_one_of_their_topics() -> None:
    from server.auth.roles import Principal, Role
    from server.auth.topics import may_receive

    kiosk = Principal(role=Role.KIOSK, subject="kiosk:k1", kiosk="k1")
    boss = Principal(role=Role.SUPERVISOR, subject="supervisor")
    assert may_receive(kiosk, ["devices", "kiosk:k1"], type_="device.health")
    assert not may_receive(kiosk, ["devices", "kiosk:k2"], type_="device.health")
    assert not may_receive(None, ["alerts", "window:1"], type_="alert.bad_rating")
    assert not may_receive(kiosk, ["window:1"], type_="alert.clerk_absent")
    assert may_receive(boss, ["alerts", "window:1"], type_="alert.bad_rating")
    assert may_receive(None, ["hall", "ticket:3", "window:1"], type_="ticket.called")


def test_hall_snapshots_are_read_once_per_seq(client: TestClient, app: Any) -> None:
    hub = app.state.services.hub
    calls: list[str] = []
    original = hub.snapshot

    async def counting(topic: str) -> Any:
        calls.append(topic)
        return await original(topic)

    hub.snapshot = counting
    for _ in range(10):
        with client.websocket_connect("/ws") as ws:
            assert _subscribe(ws, "hall", "window:1")[0]["type"] == "snapshot"
    assert calls.count("hall") == 1 and calls.count("window:1") == 1
