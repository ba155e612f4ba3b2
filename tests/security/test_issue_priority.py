"""§6: kiosk and device tokens cannot choose the priority class or the channel, on every issuing route."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.auth.roles import walk_routes
from server.auth.service import AuthSettings

from .conftest import DEVICE


def _issuing_routes(app: Any) -> list[str]:
    routes = [r.path for r in walk_routes(app) if "POST" in r.methods and "limit_issue" in r.calls]
    assert routes, "no ticket-issuing routes found"
    return sorted({p.replace("{kiosk_id}", "k1") for p in routes})


@pytest.mark.parametrize("who", ["kiosk", "device"])
@pytest.mark.parametrize("body", [
    {"service": "general", "priority": "green"},
    {"service": "general", "priority": "priority"},
    {"service": "general", "priority": "appointment"},
    {"service": "general", "channel": "staff"},
    {"service": "general", "channel": "phone"},
])
def test_device_tokens_cannot_choose_priority_or_channel(client: TestClient, app: Any, who: str,
                                                         body: dict[str, str]) -> None:
    app.state.services.auth.settings = AuthSettings(issue_limits=False)
    for path in _issuing_routes(app):
        r = client.post(path, headers=DEVICE[who], json=body)
        if r.status_code == 201:  # taken, but never with the asked class or channel
            ticket = r.json()
            assert ticket.get("priority", "normal") == "normal", (path, who, body, ticket)
            assert body.get("channel") is None or ticket.get("channel") != body["channel"], (path, who, body)
        else:
            assert r.status_code in (400, 403, 404, 409, 422), (path, who, body, r.status_code, r.text)
