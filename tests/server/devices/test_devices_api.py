"""GET /api/devices and the demo-only /api/sim routes, through the real app on a live server."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.auth.roles import Principal, Role
from server.config import HallConfig
from server.devices.setup import install
from server.settings import Settings

pytestmark = pytest.mark.timeout(60)


class HeaderAuth:
    """Stands in for server.auth: the caller's role comes from an ``X-Test-Role`` header."""

    async def authenticate(self, request: Any) -> Principal | None:
        role = request.headers.get("X-Test-Role")
        return Principal(Role(role), f"test-{role}") if role else None


SUPERVISOR = {"X-Test-Role": "supervisor"}


def _app(config: HallConfig, tmp_path: Path, store_factory: Any, *, demo: bool) -> Any:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hall.db'}", event_poll_seconds=0, demo=demo)
    app = create_app(settings, config=config, store_factory=store_factory)
    install(app)
    install(app)  # idempotent: the lead may also call it in create_app
    app.state.auth = HeaderAuth()
    return app


async def _poll(client: httpx.AsyncClient, path: str, check: Callable[[Any], bool], timeout: float = 5.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            body = (await client.get(path)).json()
            if check(body):
                return body
            await asyncio.sleep(0.02)


async def test_devices_and_simulator_routes_in_demo_mode(
    demo_config: HallConfig, hall_with: Any, printer_entries: list[dict[str, Any]], tmp_path: Path,
    fake_store_factory: Any, live_server: Any,
) -> None:
    app = _app(hall_with(demo_config, printer_entries), tmp_path, fake_store_factory, demo=True)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=10, headers=SUPERVISOR) as client:
        body = await _poll(client, "/api/devices", lambda b: b["unavailable"] == [])
        assert [d["id"] for d in body["devices"]] == ["printer-k1", "printer-k2"] and body["demo"] is True

        # a kiosk ticket issued at the API prints on that kiosk's printer (the simulator)
        issued = await client.post("/api/tickets", json={"service": "general", "channel": "kiosk", "kiosk": "k1"})
        assert issued.status_code == 201, issued.text
        ticket = issued.json()
        assert (ticket["printed"], ticket["print_fault"]) == (True, None)
        sim = (await client.get("/api/sim/printer-k1")).json()
        assert sim["printed"] == 1 and ticket["number"] in sim["tickets"][0]["text"]
        assert f"/t/{ticket['token']}" in sim["tickets"][0]["text"]
        png = await client.get("/api/sim/printer-k1/tickets/-1.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        action = (await client.post("/api/sim/printer-k1/action", json={"action": "png", "params": {}})).json()
        assert base64.b64decode(action["png_base64"]).startswith(b"\x89PNG")

        # a fault shows up in /api/devices; the websocket topic has the same snapshot
        answer = await client.post("/api/sim/printer-k1/fault", json={"fault": "paper_out"})
        assert answer.status_code == 200 and answer.json()["device"]["health"]["faults"] == ["paper_out"]
        body = await _poll(client, "/api/devices", lambda b: b["unavailable"] == ["printer-k1"])
        assert body["devices"][0]["health"]["state"] == "fault"
        assert (await app.state.hub.snapshot("devices"))["unavailable"] == ["printer-k1"]
        # the ticket is still issued; the answer says why it was not printed
        unprinted = await client.post("/api/tickets", json={"service": "general", "channel": "kiosk", "kiosk": "k1"})
        assert unprinted.status_code == 201 and unprinted.json()["number"] != ticket["number"]
        assert (unprinted.json()["printed"], unprinted.json()["print_fault"]) == (False, "paper_out")
        await client.post("/api/sim/printer-k1/fault", json={"fault": None})
        await _poll(client, "/api/devices", lambda b: b["unavailable"] == [])

        # device health is for supervisors; the demo's simulator routes are open
        assert (await client.get("/api/devices", headers={"X-Test-Role": ""})).status_code == 401
        assert (await client.get("/api/devices", headers={"X-Test-Role": "kiosk"})).status_code == 403
        assert (await client.get("/api/sim/printer-k1", headers={"X-Test-Role": ""})).status_code == 200

        bad = await client.post("/api/sim/printer-k1/fault", json={"fault": "on_fire"})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
        assert "paper_out" in bad.json()["faults"]
        missing = await client.get("/api/sim/nosuch")
        assert missing.status_code == 404 and missing.json()["code"] == "unknown_device"
        assert (await client.post("/api/sim/printer-k1/action", json={"action": "dance"})).status_code == 400


async def test_simulator_routes_are_absent_outside_demo_mode(
    demo_config: HallConfig, hall_with: Any, printer_entries: list[dict[str, Any]], tmp_path: Path,
    fake_store_factory: Any, live_server: Any,
) -> None:
    devices = [{**printer_entries[0], "url": "socket://127.0.0.1:9"}]
    app = _app(hall_with(demo_config, devices), tmp_path, fake_store_factory, demo=False)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=10, headers=SUPERVISOR) as client:
        body = await _poll(client, "/api/devices", lambda b: b["devices"][0]["health"]["state"] == "offline")
        assert body["devices"][0]["simulated"] is False and body["demo"] is False
        missing = await client.get("/api/sim/printer-k1")
        assert missing.status_code == 404 and missing.json()["code"] == "unknown_device"


def test_a_bad_device_entry_stops_the_app_from_being_built(
    demo_config: HallConfig, hall_with: Any, printer_entries: list[dict[str, Any]], tmp_path: Path,
    fake_store_factory: Any,
) -> None:
    from drivers.errors import ConfigurationError

    devices = [{**printer_entries[0], "driver": "nosuch"}]
    with pytest.raises(ConfigurationError, match="printer-k1"):
        _app(hall_with(demo_config, devices), tmp_path, fake_store_factory, demo=True)
