"""End to end: simulator → SAM driver (socket and pty) → device manager → identity wiring → real store / API.

Also the privacy check: after a card flow the raw ID number and name appear neither in
the SQLite files, nor in the logs (DEBUG), nor in any published event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from drivers.health import DeviceState
from drivers.idcard.samples import SAMPLES
from server.api.identity import router as identity_router
from server.app import create_app
from server.config import HallConfig, parse_config
from server.devices.identity import IdentitySettings, IdentityWiring
from server.devices.manager import DeviceManager
from server.errors import Refused
from server.events import Hub
from server.hallservice import HallService
from server.settings import DEMO_CONFIG, Settings
from server.store import QueueStore

FAST = {"poll_interval": 0.03, "status_interval": 0.2, "reply_timeout": 0.3, "read_timeout": 0.6}
SECRETS = [SAMPLES[k].id_number for k in ("elderly", "young", "bad_check")] + [SAMPLES[k].name for k in ("elderly",)]


def hall_config(tmp_path: Path) -> HallConfig:
    """The demo hall with two simulated readers (k1 over TCP, k2 over a pty) and strict per-person limits."""
    raw = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["devices"] = [
        {"id": "idcard-k1", "kind": "idcard_reader", "driver": "sam", "url": "sim", "kiosk": "k1", "options": FAST},
        {"id": "idcard-k2", "kind": "idcard_reader", "driver": "sam", "url": "sim:pty", "kiosk": "k2",
         "options": FAST},
    ]
    for service in raw["services"]:
        if service["code"] == "general":
            service["per_person_daily"] = 1
    raw["policy"]["per_person_daily_total"] = 2
    raw["server"]["secret_path"] = str(tmp_path / "secret.key")
    return parse_config(yaml.safe_dump(raw, allow_unicode=True), "test")


async def until(cond: Callable[[], Any], timeout: float = 8.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


def assert_private(db: Path, *texts: str) -> None:
    """No secret appears in the SQLite files or in ``texts``."""
    blobs = [p.read_bytes() for p in db.parent.glob(db.name + "*")]
    assert blobs, "no database file"
    for secret in SECRETS:
        for blob in blobs:
            assert secret.encode() not in blob and secret.encode("utf-16-le") not in blob, secret
        for text in texts:
            assert secret not in text, secret


async def test_card_flow_with_the_real_store(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = hall_config(tmp_path)
    db = tmp_path / "hall.db"
    store = QueueStore(f"sqlite:///{db}", cfg)
    store.migrate()
    hub = Hub()
    everything = hub.subscribe(["*"])
    hall = HallService(store, hub, poll_seconds=0)
    await hall.startup()
    manager = DeviceManager(cfg, hall, hub.publish_ephemeral, demo=True)
    wiring = IdentityWiring.from_config(cfg, settings=IdentitySettings(session_timeout_s=30))
    manager.add_wiring(wiring)
    await manager.start()
    try:
        k1, k2 = manager.simulators["idcard-k1"], manager.simulators["idcard-k2"]
        await until(lambda: len(wiring.readers) == 2)
        await until(lambda: all(manager.health(d).state == DeviceState.READY for _, d in
                                manager.devices_of_kind("idcard_reader")))

        # an 80-year-old lays the card on k1: priority ticket bound to the identity
        await k1.act("place_card", {"card": "elderly"})
        await until(lambda: wiring.session("k1"))
        first = await wiring.issue_with_session("k1", "general")
        assert first["priority"] == "priority" and first["masked_id"] == SAMPLES["elderly"].masked_id
        assert first["masked_name"] == "张*明" and first["kiosk"] == "k1"
        # per person: one general ticket a day …
        with pytest.raises(Refused) as refused:
            await wiring.issue_with_session("k1", "general")
        assert refused.value.code == "per_person_limit"
        # … and two tickets in all (daily cap)
        await wiring.issue_with_session("k1", "social")
        with pytest.raises(Refused):
            await wiring.issue_with_session("k1", "medical")

        # a young adult at k2 (pty): a normal ticket
        await k2.act("place_card", {"card": "young"})
        await until(lambda: wiring.session("k2"))
        young = await wiring.issue_with_session("k2", "general")
        assert young["priority"] == "normal" and young["masked_name"] == "李*"

        # lifting the card ends the session; a ticket without a card still works
        await k1.act("remove_card", {})
        await until(lambda: wiring.session("k1") is None)
        anonymous = await wiring.issue_with_session("k1", "general")
        assert anonymous["masked_id"] is None and anonymous["priority"] == "normal"

        # a bad card is refused; a silent reader goes offline and tickets still work
        await k1.act("place_card", {"card": "bad_check"})
        await until(lambda: k1.requests["read"] >= 2)
        assert wiring.session("k1") is None
        k2.inject("silence")
        await until(lambda: manager.health(manager.device("idcard-k2")).state == DeviceState.OFFLINE)
        await until(lambda: wiring.session("k2") is None)
        assert (await wiring.issue_with_session("k2", "general"))["masked_id"] is None
    finally:
        await manager.stop()
        await hall.shutdown()
        store.close()
    messages = []
    while not everything.queue.empty():
        messages.append(everything.queue.get_nowait())
    types = {m["type"] for m in messages}
    assert {"identity.session", "identity.ended", "identity.refused", "ticket.issued"} <= types
    assert_private(db, caplog.text, repr(messages))


@pytest.fixture
async def app_with_identity(tmp_path: Path) -> AsyncIterator[tuple[Any, IdentityWiring, Path]]:
    """The real app, the device manager in demo mode and the identity router, wired as the lead does."""
    from server.devices.setup import install as install_devices

    cfg = hall_config(tmp_path)
    db = tmp_path / "api.db"
    settings = Settings(database_url=f"sqlite:///{db}", demo=True, event_poll_seconds=0)
    app = create_app(settings, config=cfg)
    install_devices(app)
    identity = IdentityWiring.from_config(cfg)
    app.state.identity = identity
    app.include_router(identity_router)

    async def wire(app: Any) -> None:
        app.state.devices.add_wiring(identity)
        app.state.hub.register_snapshot("kiosk", identity.kiosk_snapshot)

    app.state.startup_hooks.append(wire)
    yield app, identity, db


async def test_kiosk_flow_through_the_api(
    app_with_identity: tuple[Any, IdentityWiring, Path], live_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app, identity, db = app_with_identity
    kiosk = {"Authorization": "Bearer hqd_demo-kiosk-k1"}  # demo mode seeds the kiosk tokens
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=10, headers=kiosk) as http:
        missing = await http.get("/api/kiosks/k1/session")
        assert missing.status_code == 404 and missing.json()["code"] == "no_session"
        await until(lambda: len(identity.readers) == 2)
        action = {"action": "place_card", "params": {"card": "elderly"}}
        placed = await http.post("/api/sim/idcard-k1/action", json=action)
        assert placed.status_code == 200 and SAMPLES["elderly"].id_number not in placed.text

        async def session() -> httpx.Response:
            async with asyncio.timeout(8):
                while (r := await http.get("/api/kiosks/k1/session")).status_code != 200:
                    await asyncio.sleep(0.02)
                return r

        body = (await session()).json()
        assert (await app.state.hub.snapshot("kiosk:k1"))["session"] == body
        assert (body["masked_name"], body["priority"], body["age"]) == ("张*明", "priority", 80)
        ticket = await http.post("/api/kiosks/k1/tickets", json={"service": "general"})
        assert ticket.status_code == 201, ticket.text
        assert ticket.json()["priority"] == "priority" and ticket.json()["masked_id"] == SAMPLES["elderly"].masked_id
        again = await http.post("/api/kiosks/k1/tickets", json={"service": "general"})
        assert again.status_code == 403 and again.json()["code"] == "per_person_limit"
        assert (await http.delete("/api/kiosks/k1/session")).status_code == 204
        assert (await http.delete("/api/kiosks/k1/session")).status_code == 404
        plain = await http.post("/api/kiosks/k1/tickets", json={"service": "general"})
        assert plain.status_code == 201 and plain.json()["masked_id"] is None
        assert (await http.post("/api/kiosks/k1/tickets", json={})).status_code == 422
        unknown = await http.post("/api/kiosks/nope/tickets", json={"service": "general"})
        assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_kiosk"
        texts = [placed.text, ticket.text, again.text, plain.text]
    assert_private(db, caplog.text, *texts)
