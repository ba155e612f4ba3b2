"""Who may follow which websocket topic: screens get public topics, the rest is guarded."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.auth import Principal, Role
from server.auth.topics import may_subscribe
from tests.support import DEMO_KIOSK_K1, demo_bearer


def _first(client: TestClient, topic: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    with client.websocket_connect("/ws", headers=headers or {}) as ws:
        ws.send_json({"op": "subscribe", "topics": [topic]})
        message: dict[str, Any] = ws.receive_json()
        return message


@pytest.mark.parametrize(
    ("role", "kiosk", "topic", "allowed"),
    [
        (None, None, "hall", True),
        (None, None, "window:3", True),
        (None, None, "ticket:17", False),  # ids can be counted through: holders (token) and staff only
        (Role.CLERK, None, "ticket:17", True),
        (None, None, "devices", False),
        (None, None, "alerts", False),
        (None, None, "kiosk:k1", False),
        (Role.CLERK, None, "alerts", False),
        (Role.DISPLAY, None, "devices", False),
        (Role.KIOSK, "k1", "kiosk:k1", True),
        (Role.KIOSK, "k1", "kiosk:k2", False),
        (Role.SUPERVISOR, None, "devices", True),
        (Role.ADMIN, None, "kiosk:k2", True),
        (Role.SUPERVISOR, None, "anything-else", True),
        (Role.KIOSK, "k1", "anything-else", False),
    ],
)
def test_topic_rules(role: Role | None, kiosk: str | None, topic: str, allowed: bool) -> None:
    principal = None if role is None else Principal(role=role, subject="x", name="x", kiosk=kiosk)
    assert may_subscribe(principal, topic) is allowed


def test_anonymous_screens_see_the_hall_but_not_devices_or_kiosk_sessions(client: TestClient) -> None:
    client.headers.pop("Authorization")  # the fixture signs in as the demo admin
    assert _first(client, "hall")["type"] == "snapshot"
    for topic in ("devices", "alerts", "kiosk:k1"):
        refused = _first(client, topic)
        assert (refused["type"], refused["code"], refused["topic"]) == ("error", "forbidden_topic", topic)


def test_a_kiosk_follows_its_own_session_and_a_supervisor_the_devices(client: TestClient) -> None:
    client.headers.pop("Authorization")
    assert _first(client, "kiosk:k1", DEMO_KIOSK_K1)["type"] == "snapshot"
    assert _first(client, "kiosk:k2", DEMO_KIOSK_K1)["code"] == "forbidden_topic"
    supervisor = demo_bearer(client, "supervisor")
    snapshot = _first(client, "devices", supervisor)
    assert snapshot["type"] == "snapshot" and snapshot["topic"] == "devices"
