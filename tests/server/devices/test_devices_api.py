"""GET /api/devices and the demo-only /api/sim routes, through the real app on a live server."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import HallConfig
from server.services import Services
from tests.support import DEMO_KIOSK_K1, account_token, make_app, seeding_store_factory

pytestmark = pytest.mark.timeout(60)


SUPERVISOR: dict[str, str] = {}  # the demo supervisor's bearer token, minted when the app starts
ANONYMOUS = {"Authorization": ""}


async def _sign_in_supervisor(services: Services) -> None:
    SUPERVISOR["Authorization"] = "Bearer " + account_token(services.auth, "supervisor")


def _app(config: HallConfig, tmp_path: Path, store_factory: Any, *, demo: bool) -> Any:
    return make_app(tmp_path, config, store_factory=store_factory, demo=demo, on_startup=[_sign_in_supervisor])


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
    app = _app(hall_with(demo_config, printer_entries), tmp_path, seeding_store_factory, demo=True)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=10, headers=SUPERVISOR) as client:
        body = await _poll(client, "/api/devices", lambda b: b["unavailable"] == [])
        assert [d["id"] for d in body["devices"]] == ["printer-k1", "printer-k2"] and body["demo"] is True

        # a kiosk ticket prints on that kiosk's printer (the simulator), through its print job
        issued = await client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert issued.status_code == 201, issued.text
        ticket = issued.json()
        assert ticket["print"]["printed"] is True and ticket["print"]["fault"] is None
        number = ticket["ticket"]["number"] if "ticket" in ticket else ticket["number"]
        sim = (await client.get("/api/sim/printer-k1")).json()
        assert sim["printed"] == 1 and number in sim["tickets"][0]["text"]
        # the printed QR link is there, but the simulator route never shows the token (issue 12, §22)
        assert "/t/***" in sim["tickets"][0]["text"] and ticket["token"] not in str(sim)
        png = await client.get("/api/sim/printer-k1/tickets/-1.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        action = (await client.post("/api/sim/printer-k1/action", json={"action": "png", "params": {}})).json()
        assert base64.b64decode(action["png_base64"]).startswith(b"\x89PNG")

        # a fault shows up in /api/devices; the websocket topic has the same snapshot
        answer = await client.post("/api/sim/printer-k1/fault", json={"fault": "paper_out"})
        assert answer.status_code == 200 and answer.json()["device"]["health"]["faults"] == ["paper_out"]
        body = await _poll(client, "/api/devices", lambda b: b["unavailable"] == ["printer-k1"])
        assert body["devices"][0]["health"]["state"] == "fault"
        assert (await app.state.services.hub.snapshot("devices"))["unavailable"] == ["printer-k1"]
        # the ticket is still issued; the answer says why it was not printed
        unprinted = await client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert unprinted.status_code == 201, unprinted.text
        assert unprinted.json()["print"]["printed"] is False and unprinted.json()["print"]["fault"] == "paper_out"
        await client.post("/api/sim/printer-k1/fault", json={"fault": None})
        await _poll(client, "/api/devices", lambda b: b["unavailable"] == [])

        # device health is for supervisors; the demo's simulator routes are open
        assert (await client.get("/api/devices", headers=ANONYMOUS)).status_code == 401
        assert (await client.get("/api/devices", headers=DEMO_KIOSK_K1)).status_code == 403
        assert (await client.get("/api/sim/printer-k1", headers=ANONYMOUS)).status_code == 200

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
    app = _app(hall_with(demo_config, devices), tmp_path, seeding_store_factory, demo=False)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=10, headers=SUPERVISOR) as client:
        body = await _poll(client, "/api/devices", lambda b: b["devices"][0]["health"]["state"] == "offline")
        assert body["devices"][0]["simulated"] is False and body["demo"] is False
        missing = await client.get("/api/sim/printer-k1")
        assert missing.status_code == 404 and missing.json()["code"] == "unknown_device"


def test_a_bad_device_entry_stops_the_app_from_being_built(
    demo_config: HallConfig, hall_with: Any, printer_entries: list[dict[str, Any]], tmp_path: Path,
    fake_store_factory: Any,
) -> None:
    from drivers.errors import DeviceConfigError

    devices = [{**printer_entries[0], "driver": "nosuch"}]
    with pytest.raises(DeviceConfigError, match="printer-k1"):
        _app(hall_with(demo_config, devices), tmp_path, fake_store_factory, demo=True)
