"""Check-in at the kiosk with the ID-card reader simulator: too early, early, on time, late; slot order; 远程取号."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivers.idcard.samples import SAMPLES
from server.config import HallConfig
from tests.server.appointments.conftest import ID_B, NOW, WEDNESDAY, Clock, booking_config
from tests.support import DEMO_KIOSK_K1, make_app, until_sync

READER = {"poll_interval": 0.03, "status_interval": 0.2, "reply_timeout": 0.3, "read_timeout": 0.6}
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def kiosk(demo_config: HallConfig, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    """The booking hall with an ID-card reader simulator at kiosk k1; remote tickets on, late arrivals walk in."""
    devices = [{"id": "idcard-k1", "kind": "idcard_reader", "driver": "sam", "url": "sim", "kiosk": "k1",
                "options": READER}]
    config = booking_config(demo_config, tmp_path, remote={"enabled": True, "confirm_minutes": 30, "verify_sms": False,
                                                            "per_phone_daily": 1})
    raw = config.model_dump()
    raw["devices"] = devices
    app = make_app(tmp_path, HallConfig.model_validate(raw), demo=True)
    with TestClient(app) as c:
        c.app.state.services.store.clock = clock  # type: ignore[attr-defined]
        yield c


def manager(client: TestClient) -> Any:
    host = client.app.state.services.devices  # type: ignore[attr-defined]
    return getattr(host, "manager", host)


def lay(client: TestClient, card: str) -> None:
    """Lay a sample card on k1's reader and wait for its session."""
    until_sync(lambda: len(manager(client).devices_of_kind("idcard_reader")) == 1)
    sim = manager(client).simulators["idcard-k1"]
    client.portal.call(sim.act, "remove_card", {})
    polled = sim.requests["find"]
    # the driver has seen the empty reader: the session (if any) ended and it polled again
    until_sync(lambda: client.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1).status_code == 404
               and sim.requests["find"] >= polled + 3)  # removal_misses (2) finds without a card, and one more
    masked = SAMPLES[card].masked_id

    def opened() -> bool:
        r = client.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1)
        return r.status_code == 200 and r.json()["masked_id"] == masked

    client.portal.call(sim.act, "place_card", {"card": card})
    until_sync(opened, timeout=8, message=f"no session for {card}: "
               f"{client.get('/api/kiosks/k1/session', headers=DEMO_KIOSK_K1).text} {sim.requests}")


def book(client: TestClient, card: str, slot: str) -> str:
    r = client.post("/api/appointments", json={
        "service": "general", "date": WEDNESDAY.isoformat(), "slot": slot, "name": SAMPLES[card].name,
        "id_number": SAMPLES[card].id_number})
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def at(clock: Clock, hour: int, minute: int) -> None:
    clock.now = dt.datetime.combine(WEDNESDAY, dt.time(hour, minute), tzinfo=NOW.tzinfo)


def checkin(client: TestClient, code: str | None = None) -> Any:
    return client.post("/api/kiosks/k1/checkin", json={"code": code} if code else {}, headers=DEMO_KIOSK_K1)


def test_card_checkin_early_on_time_late_and_slot_order(kiosk: TestClient, clock: Clock) -> None:
    book(kiosk, "young", "10:00")
    book(kiosk, "minority", "09:30")
    late_code = book(kiosk, "elderly", "09:00")
    services = kiosk.app.state.services  # type: ignore[attr-defined]

    # Wednesday 09:20: the 10:00 booking is too early (30 minutes before at most)
    at(clock, 9, 20)
    lay(kiosk, "young")
    early = checkin(kiosk)
    assert early.status_code == 422 and early.json()["code"] == "checkin_too_early"
    assert early.json()["slot"] == "10:00" and "10:00" in early.json()["detail"]
    # 09:35: early for 10:00 (waits for its slot), on time for 09:30
    at(clock, 9, 35)
    lay(kiosk, "young")
    r = checkin(kiosk)
    assert r.status_code == 200, r.text
    young = r.json()
    assert (young["priority"], young["channel"], young["note"]["code"]) == ("appointment", "appointment",
                                                                           "checkin_early")
    assert young["appointment"]["state"] == "checked_in" and young["masked_id"] == SAMPLES["young"].masked_id
    lay(kiosk, "minority")
    minority = checkin(kiosk).json()
    assert (minority["priority"], minority["note"]["code"]) == ("appointment", "checkin_on_time")
    # checking in twice finds nothing open
    again = checkin(kiosk)
    assert again.status_code == 404 and again.json()["code"] == "appointment_not_found"
    # 09:40: the 09:00 booking is 40 minutes late (15 allowed): a normal walk-in ticket
    at(clock, 9, 40)
    lay(kiosk, "elderly")
    late = checkin(kiosk, late_code)
    assert late.status_code == 200, late.text
    assert (late.json()["priority"] != "appointment", late.json()["note"]["code"]) == (True,
                                                                                      "checkin_late_walk_in")
    # a card whose booking was used already: 404, nothing issued
    lay(kiosk, "young")
    assert checkin(kiosk).status_code == 404

    # the 09:30 appointment is called first; the early 10:00 one waits for its slot (server/queue/policy.py ranks
    # it normal until then), so at 09:45 the walk-in who waits longer goes before it
    walk_in = late.json()
    extra = kiosk.portal.call(lambda: services.hall.issue("general", channel="kiosk"))  # a later walk-in, no card
    at(clock, 9, 45)
    kiosk.portal.call(lambda: services.hall.open_window(1, clerk="t"))
    calls = []
    for _ in range(2):
        calls.append(kiosk.portal.call(lambda: services.hall.call_next(1))["id"])
        kiosk.portal.call(lambda: services.hall.finish(1))
    assert calls == [minority["id"], walk_in["id"]]
    at(clock, 10, 0)  # the slot begins: the appointment goes before the later walk-in
    calls = []
    for _ in range(2):
        calls.append(kiosk.portal.call(lambda: services.hall.call_next(1))["id"])
        kiosk.portal.call(lambda: services.hall.finish(1))
    assert calls == [young["id"], extra["ticket"]["id"] if "ticket" in extra else extra["id"]]


def test_late_refused_by_configuration(demo_config: HallConfig, tmp_path: Path, clock: Clock) -> None:
    config = booking_config(demo_config, tmp_path, late="refuse")
    with TestClient(make_app(tmp_path, config, demo=True)) as c:
        c.app.state.services.store.clock = clock  # type: ignore[attr-defined]
        code = book(c, "young", "09:00")
        at(clock, 9, 30)
        r = checkin(c, f"https://hall.example.cn/book#code={code}")  # as the QR scanner reads it
        assert r.status_code == 422 and r.json()["code"] == "checkin_too_late"
        at(clock, 9, 10)
        ok = checkin(c, code.lower())  # typed on the kiosk
        assert ok.status_code == 200 and ok.json()["note"]["code"] == "checkin_on_time"


def test_remote_ticket_confirmed_or_lapsed(kiosk: TestClient, clock: Clock) -> None:
    taken = kiosk.post("/api/remote-tickets", json={"service": "general", "mobile": "13912345678"})
    assert taken.status_code == 201, taken.text
    assert taken.json()["state"] == "pending" and taken.json()["confirm_by"] == "2026-12-01T10:30:00+08:00"
    limit = kiosk.post("/api/remote-tickets", json={"service": "general", "mobile": "139 1234 5678"})
    assert limit.status_code == 429 and limit.json()["code"] == "remote_limit_phone"
    other = kiosk.post("/api/remote-tickets", json={"service": "general", "mobile": "13700000000"}).json()
    closed = kiosk.post("/api/remote-tickets", json={"service": "estate", "mobile": "13600000000"})
    assert closed.status_code == 422 and closed.json()["code"] == "remote_not_offered"

    clock.now = NOW + dt.timedelta(minutes=20)
    ok = checkin(kiosk, taken.json()["code"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["channel"] == "web" and ok.json()["note"]["code"] == "remote_confirmed"
    assert kiosk.get(f"/api/remote-tickets/{taken.json()['code']}").json()["state"] == "confirmed"

    clock.now = NOW + dt.timedelta(minutes=31)  # the other one was never confirmed
    assert kiosk.get(f"/api/remote-tickets/{other['code']}").json()["state"] == "lapsed"
    lapsed = checkin(kiosk, other["code"])
    assert lapsed.status_code == 422 and lapsed.json()["code"] == "remote_lapsed"


def test_a_booking_already_marked_missed_still_walks_in_late(client: TestClient, clock: Clock) -> None:
    code = book(client, "young", "09:00")
    at(clock, 9, 40)
    other = client.post("/api/appointments", json={  # any booking sweeps missed ones first
        "service": "general", "date": "2026-12-05", "slot": "09:00", "name": "王五", "id_number": ID_B})
    assert other.status_code == 201
    assert client.get(f"/api/appointments/{code}", headers={"X-Id-Number": SAMPLES["young"].id_number}
                      ).json()["state"] == "missed"
    r = checkin(client, code)
    assert r.status_code == 200, r.text
    assert (r.json()["priority"], r.json()["note"]["code"]) == ("normal", "checkin_late_walk_in")
