"""One tap, one ticket; refused taps cost nothing; waits in minutes; help calls and voice prompts."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.auth.limits import rate_limited
from server.config import HallConfig
from server.store.tables import print_jobs, tickets
from tests.server.kiosk.conftest import hall_config
from tests.server.kiosk.test_issue import count, devices, put_card, services, simulator
from tests.support import DEMO_KIOSK_K1, demo_bearer, make_app


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    """The production app with a simulated printer at k1."""
    app = make_app(tmp_path, hall_config(demo_config, tmp_path, devices=devices()), demo=True)
    with TestClient(app) as c:
        yield c


def tap(client: TestClient, service: str, key: str | None = None) -> tuple[int, dict[str, object]]:
    """One kiosk tap (with its idempotency key)."""
    headers = {**DEMO_KIOSK_K1, **({"Idempotency-Key": key} if key else {})}
    r = client.post("/api/kiosks/k1/tickets", json={"service": service}, headers=headers)
    return r.status_code, r.json()


def test_a_retried_tap_gets_the_same_ticket_printed_once(client: TestClient) -> None:
    status, first = tap(client, "general", "tap-0001-aaaa")
    assert status == 201 and first["replayed"] is False and first["print"]["printed"] is True
    status, again = tap(client, "general", "tap-0001-aaaa")  # the answer was lost: the kiosk retries
    assert status == 201 and again["replayed"] is True
    assert (again["id"], again["number"], again["token"]) == (first["id"], first["number"], first["token"])
    assert again["print"] == first["print"]
    assert count(client, tickets.c.service == "general") == 1
    assert simulator(client, "printer-k1").printed == 1
    with services(client).store.engine.connect() as conn:
        assert len(conn.execute(select(print_jobs.c.id)).all()) == 1
    status, other = tap(client, "general", "tap-0002-bbbb")  # a new tap is a new ticket
    assert status == 201 and other["id"] != first["id"]


def test_a_refused_tap_frees_its_key_and_a_bad_key_is_refused(client: TestClient) -> None:
    status, body = tap(client, "no-such-service", "tap-0003-cccc")
    assert status == 404
    status, body = tap(client, "general", "tap-0003-cccc")  # the same key, now a valid tap: a ticket
    assert status == 201 and body["replayed"] is False
    status, body = tap(client, "general", "bad key!")
    assert (status, body["code"]) == (403, "bad_idempotency_key")


def test_refused_taps_do_not_count_against_the_person_limit(client: TestClient) -> None:
    put_card(client, "k1", "elderly")
    assert tap(client, "general")[0] == 201
    for _ in range(4):  # an elderly citizen taps the same service again and again: refused, not counted
        status, body = tap(client, "general")
        assert (status, body["code"]) == (403, "per_person_limit")
    status, body = tap(client, "social")  # before: 429 "请434秒后再试" — the refusals had used up 3 per 10 min
    assert status == 201, body
    status, body = tap(client, "social", "tap-0004-dddd")  # refused (already holds one): no key kept
    assert (status, body["code"]) == (403, "per_person_limit")


def test_rate_limit_waits_are_in_minutes() -> None:
    err = rate_limited(434, "person")
    assert err.zh == "取号过于频繁，请8分钟后再试" and "秒" not in err.zh and err.headers["Retry-After"] == "434"
    assert rate_limited(20, "kiosk").zh == "取号过于频繁，请1分钟后再试"


def inbox(client: TestClient, type_: str) -> list[dict[str, object]]:
    """The open alerts of one type, as a supervisor sees them."""
    r = client.get("/api/alerts", params={"type": type_}, headers=demo_bearer(client, "supervisor"))
    return list(r.json()["items"])


def test_help_button_raises_an_alert_naming_the_kiosk(client: TestClient) -> None:
    r = client.post("/api/kiosks/k1/help", headers=DEMO_KIOSK_K1)
    assert r.status_code == 202, r.text
    assert r.json()["alerted"] is True
    items = inbox(client, "kiosk_help")
    mine = [a for a in items if a["type"] == "kiosk_help"]
    assert len(mine) == 1 and mine[0]["subject"] == "kiosk:k1" and "取号机" in mine[0]["message"]
    assert client.post("/api/kiosks/k1/help", headers=DEMO_KIOSK_K1).status_code == 202  # pressed again: one alert
    items = inbox(client, "kiosk_help")
    assert len(items) == 1 and items[0]["count"] == 2  # pressed twice: one open alert, counted twice
    assert client.post("/api/kiosks/k2/help", headers=DEMO_KIOSK_K1).status_code == 403  # its own kiosk only


def test_voice_prompt_is_a_wav_and_never_a_name(client: TestClient) -> None:
    r = client.get("/api/kiosks/k1/speech/ticket.wav", params={"number": "B001", "n": "0"}, headers=DEMO_KIOSK_K1)
    if r.status_code == 503:
        pytest.skip("espeak-ng is not installed")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as w:
        assert w.getnframes() > w.getframerate() // 2  # at least half a second of speech
    assert unquote(r.headers["x-hallq-text"]) == "您的号码是B零零一，前面没有人，请取走号票，留意叫号"
    hello = client.get("/api/kiosks/k1/speech/hello.wav", params={"name": "张*明"}, headers=DEMO_KIOSK_K1)
    assert hello.status_code == 200  # no free text: a masked name cannot even be passed in
    assert unquote(hello.headers["x-hallq-text"]) == "您好，请点击要办理的业务"
    assert client.get("/api/kiosks/k1/speech/nonsense.wav", headers=DEMO_KIOSK_K1).json()["code"] == "unknown_prompt"
    assert client.get("/api/kiosks/k1/speech/ticket.wav", params={"number": "<b>"},
                      headers=DEMO_KIOSK_K1).status_code == 422
