"""The app factory's extension points: start-up/shut-down hooks, event handlers, snapshot providers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.app import create_app
from server.auth.testing import DEMO_DEVICE_HOST, demo_bearer, seeding_store_factory
from server.settings import Settings


def test_hooks_handlers_and_snapshot_providers(tmp_path: Path, hall_config: Any) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hall.db'}", event_poll_seconds=0)
    app = create_app(settings, config=hall_config, store_factory=seeding_store_factory)
    calls: list[str] = []
    received: list[dict[str, Any]] = []
    got_event = asyncio.Event()

    async def on_event(message: dict[str, Any]) -> None:
        received.append(message)
        got_event.set()

    async def device_snapshot(_: str) -> Any:
        return [{"id": "printer-k1", "state": "ready"}]

    async def startup(app: FastAPI) -> None:
        calls.append("start")
        assert app.state.hall is not None and app.state.devices.snapshot()["devices"] == []
        app.state.hub.add_handler(on_event, topics=("hall",))
        app.state.hub.register_snapshot("devices", device_snapshot)

    async def shutdown(app: FastAPI) -> None:
        calls.append("stop")

    app.state.startup_hooks.append(startup)
    app.state.shutdown_hooks.append(shutdown)
    with TestClient(app) as client:
        assert calls == ["start"]
        ticket = client.post("/api/tickets", json={"service": "general"}, headers=DEMO_DEVICE_HOST).json()
        client.portal.call(asyncio.wait_for, got_event.wait(), 5)  # type: ignore[union-attr]
        with client.websocket_connect("/ws", headers=demo_bearer(client, "supervisor")) as ws:
            ws.send_json({"op": "subscribe", "topics": ["devices"]})
            snap = ws.receive_json()
            assert snap["topic"] == "devices" and snap["data"] == [{"id": "printer-k1", "state": "ready"}]
    assert calls == ["start", "stop"]
    assert received[0]["type"] == "ticket.issued" and received[0]["data"]["ticket"]["id"] == ticket["id"]
    assert isinstance(received[0]["seq"], int)
