"""预约签到 hands the booking's mobile number to the ticket: 请到X号窗口 reaches an appointment ticket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.config import HallConfig
from server.store.tables import notice_contacts, notices
from tests.server.appointments.conftest import ID_A, WEDNESDAY, Clock, booking_config
from tests.server.appointments.test_checkin import at, checkin
from tests.support import demo_bearer, make_app, until_sync

MOBILE = "13812345678"


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    config = booking_config(demo_config, tmp_path, remote={"enabled": True, "confirm_minutes": 30,
                                                                        "verify_sms": False})
    app = make_app(tmp_path, config, demo=True)
    with TestClient(app) as c:
        c.app.state.services.store.clock = clock  # type: ignore[attr-defined]
        yield c


def _rows(client: TestClient, table: Any, key: str) -> list[Any]:
    engine = client.app.state.services.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return list(conn.execute(select(table).where(table.c.key == key)))


@pytest.mark.parametrize("remote", [False, True], ids=["appointment", "remote-ticket"])
def test_checked_in_ticket_gets_the_called_sms(client: TestClient, clock: Clock, remote: bool) -> None:
    if remote:
        at(clock, 9, 0)
        r = client.post("/api/remote-tickets", json={"service": "general", "mobile": MOBILE})
        key_prefix = "remote"
    else:
        r = client.post("/api/appointments", json={"service": "general", "date": WEDNESDAY.isoformat(),
                                                   "slot": "09:30", "name": "张三明", "id_number": ID_A,
                                                   "mobile": MOBILE})
        key_prefix = "appointment"
    assert r.status_code == 201, r.text
    booking = f"{key_prefix}:{r.json()['code']}"
    until_sync(lambda: _rows(client, notice_contacts, booking))
    at(clock, 9, 25)
    t = checkin(client, r.json()["code"])
    assert t.status_code == 200, t.text
    ticket_key = f"ticket:{t.json()['id']}"
    (moved,) = _rows(client, notice_contacts, ticket_key)
    assert moved.masked == "138****5678" and moved.phone and moved.ticket_id == t.json()["id"]
    (old,) = _rows(client, notice_contacts, booking)
    assert old.phone is None  # the booking's copy is erased at once
    admin = demo_bearer(client, "admin")
    assert client.post("/api/windows/1/open", headers=admin).status_code == 200
    called = client.post("/api/windows/1/call-next", headers=admin)
    assert called.status_code == 200 and called.json()["id"] == t.json()["id"], called.text
    sent = until_sync(lambda: [n for n in _rows(client, notices, ticket_key) if n.kind == "called"])
    assert len(sent) == 1
