"""The kiosk issue path through the production app: one route, printing, priority/channel rules on every route."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from drivers.idcard.samples import SAMPLES
from server.config import HallConfig
from server.kiosk.reading import CardReading
from server.services import Services
from server.store.tables import print_jobs, tickets
from tests.conftest import free_port
from tests.server.kiosk.conftest import hall_config
from tests.support import DEMO_DEVICE_HOST, DEMO_KIOSK_K1, demo_bearer, make_app

FAST = {"status_timeout": 0.3, "poll_interval": 0.1}
K2 = {"Authorization": "Bearer hqd_demo-kiosk-k2"}


def devices() -> list[dict[str, Any]]:
    """k1: a simulated printer; k2: a printer that is not there (nothing listens on its port)."""
    return [
        {"id": "printer-k1", "kind": "ticket_printer", "driver": "escpos", "url": "sim", "kiosk": "k1",
         "options": {"encoding": "gb18030", "paper_mm": 80, **FAST}},
        {"id": "printer-k2", "kind": "ticket_printer", "driver": "escpos", "url": f"socket://127.0.0.1:{free_port()}",
         "kiosk": "k2", "options": {"encoding": "gbk", "paper_mm": 58, **FAST}},
    ]


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    """The production app (demo mode: simulators) with a working printer at k1 and an absent one at k2."""
    app = make_app(tmp_path, hall_config(demo_config, tmp_path, devices=devices()), demo=True)
    with TestClient(app) as c:
        yield c


def services(client: TestClient) -> Services:
    """The running app's services."""
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def simulator(client: TestClient, device_id: str) -> Any:
    """The demo simulator behind a device (the in-process device host started it)."""
    host = services(client).devices
    manager = getattr(host, "manager", host)  # a DeviceHost owns its DeviceManager
    return manager.simulators[device_id]


def count(client: TestClient, *where: Any) -> int:
    """Tickets in the store matching ``where``."""
    with services(client).store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tickets).where(*where)).scalar_one())


def put_card(client: TestClient, kiosk: str, key: str) -> None:
    """What a device host does when a card is laid on ``kiosk``'s reader."""
    body = CardReading.from_card(SAMPLES[key]).model_dump(mode="json")
    r = client.put(f"/api/kiosks/{kiosk}/card", json=body, headers=DEMO_DEVICE_HOST)
    assert r.status_code == 204, r.text


def test_kiosk_ticket_is_printed_on_the_simulated_printer(client: TestClient) -> None:
    r = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["print"] == {"state": "done", "printed": True, "fault": None}
    assert body["token"] and body["kiosk"] == "k1" and body["channel"] == "kiosk"
    sim = simulator(client, "printer-k1")
    assert sim.printed == 1 and body["number"] in sim.ticket()["text"]  # on paper, once
    with services(client).store.engine.connect() as conn:
        states = conn.execute(select(print_jobs.c.state).where(print_jobs.c.ticket_id == body["id"])).scalars().all()
    assert states == ["done"]  # one job, printed once


def test_offline_printer_gives_a_clear_fault_and_the_ticket(client: TestClient) -> None:
    r = client.post("/api/kiosks/k2/tickets", json={"service": "general"}, headers=K2)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["print"]["printed"] is False and body["print"]["state"] == "failed"
    assert body["print"]["fault"] == "offline"
    assert body["number"] and body["token"]  # the ticket exists; the kiosk shows its QR


def test_kiosk_without_printer_answers_no_printer(demo_config: HallConfig, tmp_path: Path) -> None:
    app = make_app(tmp_path, hall_config(demo_config, tmp_path, devices=[]), demo=True)
    with TestClient(app) as client:
        r = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert r.status_code == 201 and r.json()["print"] == {"state": "failed", "printed": False,
                                                             "fault": "no_printer"}


def test_card_session_binds_the_kiosk_ticket(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    put_card(client, "k1", "elderly")
    session = client.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1)
    assert session.status_code == 200 and session.json()["masked_name"] == "张*明"
    assert session.json()["age"] == 80 and "key_hash" not in session.json()
    first = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1).json()
    assert first["priority"] == "priority" and first["masked_id"] == SAMPLES["elderly"].masked_id
    again = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
    assert again.status_code == 403 and again.json()["code"] == "per_person_limit"
    assert client.delete("/api/kiosks/k1/card", headers=DEMO_DEVICE_HOST).status_code == 204
    assert client.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1).json()["code"] == "no_session"
    plain = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1).json()
    assert plain["masked_id"] is None and plain["priority"] == "normal"
    bad = {**CardReading.from_card(SAMPLES["elderly"]).model_dump(mode="json"), "card_type": "bogus"}
    refused = client.put("/api/kiosks/k1/card", json=bad, headers=DEMO_DEVICE_HOST)
    assert refused.status_code == 422 and SAMPLES["elderly"].id_number not in refused.text
    assert SAMPLES["elderly"].id_number not in caplog.text and SAMPLES["elderly"].name not in caplog.text


@pytest.mark.parametrize(("path", "headers", "status", "code"), [
    ("/api/kiosks/k9/tickets", DEMO_KIOSK_K1, 404, "unknown_kiosk"),
    ("/api/kiosks/k2/tickets", DEMO_KIOSK_K1, 403, "wrong_kiosk"),
    ("/api/kiosks/k1/tickets", DEMO_DEVICE_HOST, 403, "forbidden"),
])
def test_kiosk_route_refusals(client: TestClient, path: str, headers: dict[str, str], status: int,
                              code: str) -> None:
    r = client.post(path, json={"service": "general"}, headers=headers)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text


def test_refusals_on_the_card_and_session_routes(client: TestClient) -> None:
    assert client.delete("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1).json()["code"] == "no_session"
    body = CardReading.from_card(SAMPLES["young"]).model_dump(mode="json")
    assert client.put("/api/kiosks/k1/card", json=body, headers=DEMO_KIOSK_K1).status_code == 403  # device only
    assert client.put("/api/kiosks/k9/card", json=body, headers=DEMO_DEVICE_HOST).json()["code"] == "unknown_kiosk"
    assert client.put("/api/kiosks/k1/card", json={"id_number": "x"}, headers=DEMO_DEVICE_HOST).status_code == 422
    assert client.post("/api/print-jobs/999/claim", headers=DEMO_DEVICE_HOST).json()["code"] == "unknown_print_job"
    assert client.post("/api/print-jobs/1/claim", headers=DEMO_KIOSK_K1).status_code == 403


def issuing_routes(client: TestClient) -> set[str]:
    """Every POST route that takes a ticket, from the app's own schema (a new one must join the checks below)."""
    paths: dict[str, Any] = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {path for path, ops in paths.items() if "post" in ops and path.endswith("/tickets")}


NOT_ALLOWED = [({"priority": p}, "priority_not_allowed") for p in ("green", "appointment", "priority")] + [
    ({"channel": c}, "channel_not_allowed") for c in ("staff", "web", "appointment")]


def test_kiosk_and_device_tokens_cannot_choose_priority_or_channel_on_any_route(client: TestClient) -> None:
    routes = issuing_routes(client)
    assert routes == {"/api/tickets", "/api/kiosks/{kiosk_id}/tickets", "/api/console/tickets"}
    for path in sorted(routes):
        url = path.replace("{kiosk_id}", "k1")
        if url == "/api/console/tickets":  # 代取号: staff only (server/api/console.py)
            for headers in (DEMO_KIOSK_K1, DEMO_DEVICE_HOST):
                r = client.post(url, json={"service": "general", "reason": "elderly", "priority": "green"},
                                headers=headers)
                assert r.status_code == 403, (url, r.text)
            continue
        for extra, code in NOT_ALLOWED:
            body = {"service": "general", "kiosk": "k1", **extra} if url == "/api/tickets" else \
                {"service": "general", **extra}
            r = client.post(url, json=body, headers=DEMO_KIOSK_K1)
            assert (r.status_code, r.json()["code"]) == (403, code), (url, extra, r.text)
            r = client.post(url, json=body, headers=DEMO_DEVICE_HOST)
            expected = code if url == "/api/tickets" else "forbidden"  # the kiosk route is for kiosks only
            assert (r.status_code, r.json()["code"]) == (403, expected), (url, extra, r.text)
    assert count(client, tickets.c.priority != "normal") == 0
    assert count(client, tickets.c.channel != "kiosk") == 0


def test_plain_ticket_route_rules_per_caller(client: TestClient) -> None:
    # a kiosk token on the plain route takes the one kiosk path: card session bound, printed
    put_card(client, "k1", "elderly")
    kiosk = client.post("/api/tickets", json={"service": "general", "kiosk": "k1"}, headers=DEMO_KIOSK_K1)
    assert kiosk.status_code == 201, kiosk.text
    assert kiosk.json()["priority"] == "priority" and kiosk.json()["masked_id"] == SAMPLES["elderly"].masked_id
    assert kiosk.json()["print"]["printed"] is True
    again = client.post("/api/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
    assert (again.status_code, again.json()["code"]) == (403, "per_person_limit")  # the same per-person rules
    other = client.post("/api/tickets", json={"service": "general", "kiosk": "k2"}, headers=DEMO_KIOSK_K1)
    assert (other.status_code, other.json()["code"]) == (403, "wrong_kiosk")
    device = client.post("/api/tickets", json={"service": "general", "channel": "keypad"}, headers=DEMO_DEVICE_HOST)
    assert device.status_code == 201 and device.json()["priority"] == "normal" and device.json()["token"]
    staff = demo_bearer(client, "admin")
    bare = client.post("/api/tickets", json={"service": "general", "priority": "green", "channel": "staff"},
                       headers=staff)
    assert (bare.status_code, bare.json()["code"]) == (422, "green_reason_required")  # 绿色通道 needs a reason
    green = client.post("/api/tickets", json={"service": "general", "priority": "green", "channel": "staff",
                                              "green_reason": "urgent"}, headers=staff)
    assert green.status_code == 201 and green.json()["priority"] == "green"
    assert green.json()["print"] is None  # print-after-issue lives only on the kiosk path
    assert count(client, tickets.c.priority == "green") == 1


def test_printer_of_a_host_that_is_gone_or_stuck(demo_config: HallConfig, tmp_path: Path) -> None:
    """Devices run elsewhere (``hallq devices``): no live host → at once; a silent host → after the wait."""
    app = make_app(tmp_path, hall_config(demo_config, tmp_path, devices=devices()), demo=True,
                   device_host="external", kiosk_print_wait_seconds=0.3)
    with TestClient(app) as client:
        r = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert r.status_code == 201 and r.json()["print"] == {"state": "failed", "printed": False,
                                                             "fault": "printer_host_offline"}
        store = services(client).store
        store.claim_devices("device:host", "kiosk-pc", ["printer-k1"], stale_ms=15_000)  # alive, but never prints
        r = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert r.json()["print"] == {"state": "failed", "printed": False, "fault": "print_timeout"}
        with store.engine.connect() as conn:
            job = conn.execute(select(print_jobs.c.id).where(print_jobs.c.ticket_id == r.json()["id"])).scalar_one()
        late = client.post(f"/api/print-jobs/{job}/claim", headers=DEMO_DEVICE_HOST)
        assert late.status_code == 204  # the host coming back cannot print it behind the kiosk's back


def test_device_host_claims_prints_and_reports_over_the_api(demo_config: HallConfig, tmp_path: Path) -> None:
    """The routes a remote device host uses: claim once (204 for the loser), report, first result kept."""
    app = make_app(tmp_path, hall_config(demo_config, tmp_path, devices=devices()), demo=True,
                   device_host="external", kiosk_print_wait_seconds=0.05)
    with TestClient(app) as client:
        services(client).store.claim_devices("device:host", "kiosk-pc", ["printer-k1"], stale_ms=15_000)
        ticket = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1).json()
        assert ticket["print"]["fault"] == "print_timeout"  # nobody answered within 50 ms
        svc = services(client).kiosks
        job_id, _ = svc.jobs.create(ticket["id"], "k1")  # a second job, claimed over the API
        claim = client.post(f"/api/print-jobs/{job_id}/claim", headers=DEMO_DEVICE_HOST)
        assert claim.status_code == 200 and claim.json()["token"] == ticket["token"]
        assert claim.json()["ticket"]["number"] == ticket["number"]
        assert client.post(f"/api/print-jobs/{job_id}/claim", headers=DEMO_DEVICE_HOST).status_code == 204
        done = client.post(f"/api/print-jobs/{job_id}/result", json={"printed": True}, headers=DEMO_DEVICE_HOST)
        assert done.json() == {"state": "done", "printed": True, "fault": None}
        again = client.post(f"/api/print-jobs/{job_id}/result", json={"printed": False, "fault": "paper_out"},
                            headers=DEMO_DEVICE_HOST)
        assert again.json()["state"] == "done"
