"""远程取号 needs the SMS code first: sent through the notices outbox, checked with attempt and send limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from server.appointments.verify import code_of, parse
from server.config import HallConfig
from server.store.tables import notices, remote_tickets
from tests.server.appointments.conftest import Clock, booking_config
from tests.support import make_app

MOBILE = "13912345678"


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    config = booking_config(demo_config, tmp_path, remote={"enabled": True, "verify_attempts": 3, "verify_daily": 2,
                                                           "per_phone_daily": 5})
    with TestClient(make_app(tmp_path, config, demo=True)) as c:
        c.app.state.services.store.clock = clock  # type: ignore[attr-defined]
        yield c


def _sms(client: TestClient) -> list[str]:
    engine = client.app.state.services.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [r.text for r in conn.execute(select(notices.c.text).where(notices.c.kind == "verify")
                                             .order_by(notices.c.id))]


def _taken(client: TestClient) -> int:
    engine = client.app.state.services.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(remote_tickets)).scalar_one())


def _ask(client: TestClient, mobile: str = MOBILE) -> Any:
    return client.post("/api/remote-tickets/verify", json={"service": "general", "mobile": mobile})


def test_no_remote_ticket_without_the_sms_code(client: TestClient) -> None:
    r = client.post("/api/remote-tickets", json={"service": "general", "mobile": MOBILE})
    assert r.status_code == 422 and r.json()["code"] == "verify_required"
    sent = _ask(client)
    assert sent.status_code == 202, sent.text
    assert sent.json()["masked"] == "139****5678" and MOBILE not in sent.text
    (text,) = _sms(client)
    code = re.search(r"验证码(\d{6})", text).group(1)  # type: ignore[union-attr]
    assert "10分钟" in text
    body = {"service": "general", "mobile": MOBILE, "challenge": sent.json()["challenge"]}
    wrong = "000000" if code != "000000" else "111111"
    r = client.post("/api/remote-tickets", json={**body, "code": wrong})
    assert r.status_code == 422 and r.json()["code"] == "verify_wrong" and r.json()["attempts_left"] == 2
    # the code is bound to the phone number and the service
    r = client.post("/api/remote-tickets", json={**body, "mobile": "13700000000", "code": code})
    assert r.status_code == 422 and r.json()["code"] == "verify_expired"
    assert _taken(client) == 0
    ok = client.post("/api/remote-tickets", json={**body, "code": code})
    assert ok.status_code == 201 and ok.json()["state"] == "pending", ok.text
    again = client.post("/api/remote-tickets", json={**body, "code": code})  # single use
    assert again.status_code == 422 and again.json()["code"] == "verify_expired"
    assert _taken(client) == 1


def test_too_many_wrong_codes_void_the_challenge(client: TestClient) -> None:
    challenge = _ask(client).json()["challenge"]
    hasher = client.app.state.services.kiosks.sessions.hasher  # type: ignore[attr-defined]
    parsed = parse(challenge)
    assert parsed is not None
    right = code_of(hasher, parsed)
    wrong = "000000" if right != "000000" else "111111"
    body = {"service": "general", "mobile": MOBILE, "challenge": challenge}
    for left in (2, 1, 0):
        r = client.post("/api/remote-tickets", json={**body, "code": wrong})
        assert r.status_code == 422 and r.json()["attempts_left"] == left
    r = client.post("/api/remote-tickets", json={**body, "code": right})  # even the right one now
    assert r.status_code == 429 and r.json()["code"] == "verify_attempts"
    assert _taken(client) == 0


def test_an_expired_code_and_the_daily_send_limit(client: TestClient, clock: Clock) -> None:
    import datetime as dt

    first = _ask(client).json()["challenge"]
    hasher = client.app.state.services.kiosks.sessions.hasher  # type: ignore[attr-defined]
    parsed = parse(first)
    assert parsed is not None
    clock.now = clock.now + dt.timedelta(minutes=11)
    r = client.post("/api/remote-tickets", json={"service": "general", "mobile": MOBILE, "challenge": first,
                                                 "code": code_of(hasher, parsed)})
    assert r.status_code == 422 and r.json()["code"] == "verify_expired"
    assert _ask(client).status_code == 202
    limit = _ask(client)
    assert limit.status_code == 429 and limit.json()["code"] == "verify_send_limit"
    assert len(_sms(client)) == 2
    assert _ask(client, "13700000000").status_code == 202  # another number is not limited
    closed = client.post("/api/remote-tickets/verify", json={"service": "estate", "mobile": MOBILE})
    assert closed.status_code == 422 and closed.json()["code"] == "remote_not_offered"
