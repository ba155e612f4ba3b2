"""预约提醒 the day before: a booking with a mobile number gets one reminder (the query: server/appointments/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.config import HallConfig
from server.store.tables import notice_contacts
from tests.server.appointments.conftest import ID_A, NOW, WEDNESDAY, Clock, booking_config
from tests.support import demo_bearer, make_app, until_sync

MOBILE = "13812345678"


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    app = make_app(tmp_path, booking_config(demo_config, tmp_path), demo=True)
    with TestClient(app) as c:
        c.app.state.services.store.clock = Clock()  # type: ignore[attr-defined]
        c.headers.update(demo_bearer(c, "admin"))
        yield c


def notices_of(client: TestClient) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/api/notices", params={"limit": 100}).json()["notices"]
    return rows


def test_tomorrows_booking_gets_one_reminder(client: TestClient) -> None:
    r = client.post("/api/appointments", json={"service": "general", "date": WEDNESDAY.isoformat(), "slot": "09:30",
                                               "name": "张三明", "id_number": ID_A, "mobile": MOBILE})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    engine = client.app.state.services.store.engine  # type: ignore[attr-defined]

    def kept() -> Any:
        with engine.connect() as conn:
            return conn.execute(select(notice_contacts).where(notice_contacts.c.key == f"appointment:{code}")).first()

    row = until_sync(kept)
    assert row.masked == "138****5678" and MOBILE not in str(tuple(row))  # sealed at rest
    service = client.app.state.services.notices  # type: ignore[attr-defined]
    assert client.portal.call(service.send_reminders, NOW.date()) == 1  # type: ignore[union-attr]
    assert client.portal.call(service.send_reminders, NOW.date()) == 0  # type: ignore[union-attr]  # once
    until_sync(lambda: [n for n in notices_of(client) if n["state"] == "sent"])
    (reminder,) = notices_of(client)
    assert reminder["kind"] == "reminder" and code in reminder["text"] and "12月02日 09:30" in reminder["text"]
    assert reminder["masked"] == "138****5678"
    # the number is erased soon after the slot (the booking's own time, or the slot day's end, + keep_hours),
    # never kept for the 31-day cap
    erase_at = kept().erase_at
    slot = dt.datetime(2026, 12, 2, 9, 30, tzinfo=NOW.tzinfo).timestamp() * 1000
    end_of_day = dt.datetime(2026, 12, 3, tzinfo=NOW.tzinfo).timestamp() * 1000
    assert slot < erase_at <= end_of_day + 24 * 3_600_000
