"""Booking through the API: book, read, cancel, reschedule, limits, full slots, closed days, remote tickets, privacy."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.appointments.conftest import HOLIDAY, ID_A, ID_B, MAKEUP, WEDNESDAY, Clock
from tests.support import demo_bearer

MOBILE = "13812345678"


def book(client: TestClient, slot: str = "09:30", *, day: dt.date = WEDNESDAY, id_number: str = ID_A,
         service: str = "general", headers: dict[str, str] | None = None) -> Any:
    return client.post("/api/appointments", headers=headers or {}, json={
        "service": service, "date": day.isoformat(), "slot": slot, "name": "张三明", "id_number": id_number,
        "mobile": MOBILE})


def test_book_read_reschedule_cancel(client: TestClient) -> None:
    slots = client.get("/api/appointments/slots", params={"service": "general", "date": WEDNESDAY.isoformat()})
    assert slots.status_code == 200 and slots.json()["bookable"] is True
    assert slots.json()["slots"][1] == {"slot": "09:30", "start": "2026-12-02T09:30:00+08:00",
                                        "end": "2026-12-02T10:00:00+08:00", "capacity": 9, "booked": 0,
                                        "free": 9, "bookable": True}
    r = book(client)
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["state"], a["slot"], a["masked_id"], a["masked_name"], a["masked_phone"], a["channel"]) == (
        "booked", "09:30", "110105********002X", "张*明", "138****5678", "web")
    assert a["link"].endswith(f"/book#code={a['code']}") and len(a["code"]) == 8
    after = client.get("/api/appointments/slots", params={"service": "general", "date": WEDNESDAY.isoformat()})
    assert next(s for s in after.json()["slots"] if s["slot"] == "09:30")["booked"] == 1

    code = a["code"]
    assert client.get(f"/api/appointments/{code}", headers={"X-Id-Number": ID_A}).json()["slot"] == "09:30"
    # a wrong ID number and a wrong code answer the same 404, and so does no number at all
    wrong_id = client.get(f"/api/appointments/{code}", headers={"X-Id-Number": ID_B})
    wrong_code = client.get("/api/appointments/ZZZZZZZZ", headers={"X-Id-Number": ID_A})
    bare = client.get(f"/api/appointments/{code}")
    assert wrong_id.status_code == wrong_code.status_code == bare.status_code == 404
    assert wrong_id.json()["code"] == wrong_code.json()["code"] == "appointment_not_found"
    assert wrong_id.json()["detail"] == wrong_code.json()["detail"]
    assert client.delete(f"/api/appointments/{code}", headers={"X-Id-Number": ID_B}).status_code == 404

    moved = client.post(f"/api/appointments/{code}/reschedule", headers={"X-Id-Number": ID_A},
                        json={"date": MAKEUP.isoformat(), "slot": "14:00"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["day"], moved.json()["slot"], moved.json()["code"]) == (MAKEUP.isoformat(), "14:00", code)

    gone = client.delete(f"/api/appointments/{code}", headers={"X-Id-Number": ID_A})
    assert gone.status_code == 200 and gone.json()["state"] == "cancelled"
    again = client.delete(f"/api/appointments/{code}", headers={"X-Id-Number": ID_A})
    assert again.status_code == 422 and again.json()["code"] == "appointment_not_open"
    # every change is in the audit trail
    trail = client.app.state.services.store  # type: ignore[attr-defined]
    from sqlalchemy import select

    from server.auth.tables import audit_log
    with trail._read() as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action).where(
            audit_log.c.target == f"appointment:{code}")).all()]
    assert actions == ["appointment.book", "appointment.reschedule", "appointment.cancel"]


def test_bad_input_full_slot_closed_day_and_limits(client: TestClient) -> None:
    bad = book(client, id_number=ID_A[:-1] + "1")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_id_number"
    holiday = book(client, day=HOLIDAY)
    assert holiday.status_code == 422 and holiday.json()["code"] == "booking_closed_day"
    assert holiday.json()["reason"]["zh"].startswith("该日不办公")
    far = book(client, day=WEDNESDAY + dt.timedelta(days=10))
    assert far.status_code == 422 and far.json()["code"] == "booking_beyond_horizon"
    lunch = book(client, slot="12:30")
    assert lunch.status_code == 422 and lunch.json()["code"] == "unknown_slot"

    # estate takes one booking per 60-minute slot: the second person gets 409 with the next free slots
    assert book(client, "10:00", service="estate").status_code == 201
    full = book(client, "10:00", service="estate", id_number=ID_B)
    assert full.status_code == 409 and full.json()["code"] == "slot_full"
    assert [s["slot"] for s in full.json()["next_free"][:2]] == ["11:00", "13:30"]

    # per person: one booking per service and day, two open bookings in all
    assert book(client, "14:00").status_code == 201
    third = book(client, "15:00", day=MAKEUP)
    assert third.status_code == 422 and third.json()["code"] == "booking_limit"
    dup = book(client, "16:00", id_number=ID_B)
    assert dup.status_code == 201
    dup2 = book(client, "16:30", id_number=ID_B)
    assert dup2.status_code == 422 and dup2.json()["code"] == "booking_limit_day"


def test_staff_books_and_cancels_for_a_caller(client: TestClient) -> None:
    staff = demo_bearer(client)
    r = book(client, "11:00", headers=staff)
    assert r.status_code == 201 and r.json()["channel"] == "staff"
    code = r.json()["code"]
    day = client.get("/api/appointments", params={"date": WEDNESDAY.isoformat()}, headers=staff)
    assert [a["code"] for a in day.json()] == [code]
    assert client.get("/api/appointments", params={"date": WEDNESDAY.isoformat()}).status_code == 401
    assert client.delete(f"/api/appointments/{code}", headers=staff).json()["state"] == "cancelled"


def test_no_show_rule_blocks_booking(demo_config: Any, tmp_path: Path, clock: Clock) -> None:
    from tests.server.appointments.conftest import booking_config
    from tests.support import make_app

    config = booking_config(demo_config, tmp_path, no_show_limit=1, no_show_block_days=30)
    with TestClient(make_app(tmp_path, config, demo=True)) as c:
        c.app.state.services.store.clock = clock  # type: ignore[attr-defined]
        assert book(c, "09:00").status_code == 201
        clock.now = clock.now.replace(day=2, hour=12)  # Wednesday noon: the 09:00 slot was missed
        blocked = book(c, "10:00", day=MAKEUP)
        assert blocked.status_code == 422 and blocked.json()["code"] == "booking_blocked"
        assert blocked.json()["until"].startswith("2027-01-01")
        assert book(c, "10:00", day=MAKEUP, id_number=ID_B).status_code == 201


def test_remote_ticket_lapses_unconfirmed(client: TestClient, clock: Clock) -> None:
    r = client.post("/api/remote-tickets", json={"service": "general", "mobile": MOBILE})
    assert r.status_code == 422 and r.json()["code"] == "remote_not_offered"  # off for the hall by default


def test_no_full_numbers_in_the_database_logs_or_answers(client: TestClient, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answer = book(client)
    code = answer.json()["code"]
    texts = [answer.text, client.get(f"/api/appointments/{code}", headers={"X-Id-Number": ID_A}).text]
    client.post(f"/api/appointments/{code}/reschedule", headers={"X-Id-Number": ID_A},
                json={"date": MAKEUP.isoformat(), "slot": "09:00"})
    client.delete(f"/api/appointments/{code}", headers={"X-Id-Number": ID_A})
    for db in tmp_path.glob("hall.db*"):
        blob = db.read_bytes()
        for secret in (ID_A, MOBILE, "张三明"):
            assert secret.encode() not in blob and secret.encode("utf-16-le") not in blob, secret
    for secret in (ID_A, MOBILE, "张三明"):
        assert secret not in caplog.text and all(secret not in t for t in texts), secret
