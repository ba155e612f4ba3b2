"""The app factory's extension points: start-up/shut-down hooks, event handlers, snapshot providers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.app import create_app
from server.queue.events import Event, EventType
from server.services import Services
from server.settings import Settings
from tests.support import DEMO_DEVICE_HOST, demo_bearer, seeding_store_factory


def test_hooks_handlers_and_snapshot_providers(tmp_path: Path, hall_config: Any) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hall.db'}", event_poll_seconds=0)
    calls: list[str] = []
    received: list[Event] = []
    got_event = asyncio.Event()

    async def on_event(message: Event) -> None:
        received.append(message)
        got_event.set()

    async def device_snapshot(_: str) -> Any:
        return [{"id": "printer-k1", "state": "ready"}]

    async def startup(services: Services) -> None:
        calls.append("start")
        assert services.hall is not None and services.devices.snapshot()["devices"] == []
        services.hub.add_handler(on_event, topics=("hall",))
        services.hub.register_snapshot("devices", device_snapshot)

    async def shutdown(services: Services) -> None:
        calls.append("stop")

    app = create_app(settings, config=hall_config, store_factory=seeding_store_factory,
                     on_startup=[startup], on_shutdown=[shutdown])
    with TestClient(app) as client:
        assert calls == ["start"]
        ticket = client.post("/api/tickets", json={"service": "general"}, headers=DEMO_DEVICE_HOST).json()
        client.portal.call(asyncio.wait_for, got_event.wait(), 5)  # type: ignore[union-attr]
        with client.websocket_connect("/ws", headers=demo_bearer(client, "supervisor")) as ws:
            ws.send_json({"op": "subscribe", "topics": ["devices"]})
            snap = ws.receive_json()
            assert snap["topic"] == "devices" and snap["data"] == [{"id": "printer-k1", "state": "ready"}]
    assert calls == ["start", "stop"]
    assert received[0].type == EventType.TICKET_ISSUED and received[0].data["ticket"]["id"] == ticket["id"]
    assert isinstance(received[0].seq, int)
