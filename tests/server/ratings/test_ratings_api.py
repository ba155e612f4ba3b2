"""好差评 over HTTP with the production app: every channel rates once, reasons, 差评 cases, export, alerts."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from server.auth import seed_demo_accounts
from server.config import HallConfig, RatingSettings
from server.store import QueueStore
from tests.support import DEMO_DEVICE_HOST, demo_bearer, make_app, until_sync

W1 = {"Authorization": "Bearer hqd_demo-display-w1"}  # window 1's screen (display bound to window 1)
START = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # Friday 10:00 in Shanghai


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(tmp_path: Path, hall_config: HallConfig, clock: Clock) -> Iterator[TestClient]:
    """The production app; its store on a clock the test moves; reasons required for 差评."""
    config = hall_config.model_copy(update={"ratings": RatingSettings(require_reasons=True, text_max=50)})

    def factory(url: str, cfg: Any) -> QueueStore:
        store = QueueStore(url, cfg, clock=clock)
        store.migrate()
        seed_demo_accounts(store, cfg)
        return store

    with TestClient(make_app(tmp_path, config, store_factory=factory), raise_server_exceptions=False) as c:
        c.headers.update(demo_bearer(c, "admin"))
        yield c


def finished(client: TestClient, window: int = 1) -> dict[str, Any]:
    r = client.post("/api/tickets", json={"service": "general"})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert client.post(f"/api/windows/{window}/open", json={}).status_code == 200
    assert client.post(f"/api/windows/{window}/call-next").json()["id"] == ticket["id"]
    assert client.post(f"/api/windows/{window}/start").status_code == 200
    assert client.post(f"/api/windows/{window}/finish").json()["state"] == "done"
    return ticket  # type: ignore[no-any-return]


def rate(client: TestClient, ticket: dict[str, Any], headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/api/tickets/{ticket['id']}/rating", json=body, headers=headers)


def citizen(ticket: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": "", "X-Ticket-Token": ticket["token"]}


def test_every_channel_rates_once_and_the_first_wins(client: TestClient) -> None:
    channels = [("evaluator", DEMO_DEVICE_HOST), ("window", W1), ("web", None), ("qr", None)]
    for source, headers in channels:
        ticket = finished(client)
        r = rate(client, ticket, headers or citizen(ticket), level=5, source=source)
        assert r.status_code == 200 and r.json()["rating"] == 5, r.text
        for _, other in channels:  # every later rating, from any channel, is refused
            again = rate(client, ticket, other or citizen(ticket), level=1, reasons=["attitude"], source="api")
            assert again.status_code == 409 and again.json()["code"] == "already_rated", again.text
        audit = client.get("/api/audit", params={"ticket": ticket["id"]}).json()["items"]
        recorded = [a for a in audit if a["action"] == "evaluation.recorded"]
        assert len(recorded) == 1 and recorded[0]["detail"]["channel"] == source
        assert recorded[0]["detail"]["window"] == 1


def test_unfinished_cancelled_unknown_and_bad_input(client: TestClient) -> None:
    waiting = client.post("/api/tickets", json={"service": "general"}).json()
    assert rate(client, waiting, citizen(waiting), level=5).json()["code"] == "not_ratable"
    assert client.post(f"/api/tickets/{waiting['id']}/cancel").status_code == 200
    r = rate(client, waiting, citizen(waiting), level=5)
    assert r.status_code == 409 and r.json()["code"] == "not_ratable"
    r = client.post("/api/tickets/999999/rating", json={"level": 5}, headers=DEMO_DEVICE_HOST)
    assert r.status_code == 404 and r.json()["code"] == "unknown_ticket"
    ticket = finished(client)
    for body, code in [({"level": 2}, "reasons_required"), ({"level": 1, "reasons": ["bogus"]}, "unknown_reason"),
                       ({"level": 2, "reasons": ["attitude"], "text": "字" * 51}, "rating_text_too_long")]:
        r = rate(client, ticket, W1, **body)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert client.get(f"/api/tickets/{ticket['id']}").json()["rating"] is None  # nothing stored


def test_a_bad_rating_opens_a_case_that_moves_through_every_state(client: TestClient) -> None:
    reasons = client.get("/api/rating-reasons", headers={"Authorization": ""}).json()
    assert reasons["required"] is True and {r["code"] for r in reasons["reasons"]} >= {"attitude"}
    ticket = finished(client)
    r = rate(client, ticket, W1, level=1, reasons=["attitude"], text="工作人员不耐烦", source="window")
    assert r.status_code == 200
    assert "工作人员不耐烦" not in client.get(f"/api/tickets/{ticket['id']}", headers=citizen(ticket)).text
    [case] = client.get("/api/cases").json()["items"]
    assert case["ticket_id"] == ticket["id"] and case["state"] == "pending" and case["text"] == "工作人员不耐烦"
    assert case["verify_due"].startswith("2026-12-01T00:00") and case["rectify_due"].startswith("2026-12-19")
    assert client.get("/api/cases", params={"state": "closed"}).json()["items"] == []
    assert client.get("/api/cases", params={"window": 2}).json()["items"] == []
    cid = case["id"]
    steps = [("verify", {}), ("rectify", {"finding": "属实"}), ("reply", {"reply": "已批评教育"}),
             ("close", {"callback_result": "satisfied"})]
    for action, body in steps:
        r = client.post(f"/api/cases/{cid}/{action}", json=body)
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed"
    r = client.post(f"/api/cases/{cid}/verify", json={})
    assert r.status_code == 409 and r.json()["code"] == "invalid_case_step"
    assert client.post("/api/cases/999/verify", json={}).status_code == 404
    assert client.post(f"/api/cases/{cid}/explode", json={}).status_code == 422
    audit = client.get("/api/audit").json()["items"]
    assert [a["action"] for a in audit if a["target"] == f"case:{cid}"] == [
        "case.open", "case.verify", "case.rectify", "case.reply", "case.close"]
    assert all(a["actor"].startswith("admin:") for a in audit if a["target"] == f"case:{cid}" and
               a["action"] != "case.open")
    assert client.get("/api/cases", headers=W1).status_code == 403  # supervisors and admins only


def test_ledger_exports_csv_and_xlsx(client: TestClient) -> None:
    ticket = finished(client)
    rate(client, ticket, W1, level=2, reasons=["efficiency"], text="=HYPERLINK(1)")
    csv_text = client.get("/api/cases.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("案件编号,号票,窗口") and "'=HYPERLINK(1)" in csv_text
    book = load_workbook(io.BytesIO(client.get("/api/cases.xlsx").content))
    rows = list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "案件编号" and rows[1][1] == ticket["number"] and len(rows) == 2


def test_an_overdue_case_raises_an_alert_in_the_inbox(client: TestClient, clock: Clock) -> None:
    ticket = finished(client)
    rate(client, ticket, W1, level=2, reasons=["efficiency"])
    cid = client.get("/api/cases").json()["items"][0]["id"]
    clock.now = START + dt.timedelta(days=4)  # Tuesday: the verification deadline (end of Monday) passed
    assert client.post("/api/cases/sweep").json()["alerted"] == [cid]
    alert = until_sync(lambda: [a for a in client.get("/api/alerts").json()["items"] if a["type"] == "case_overdue"])
    assert alert[0]["subject"] == f"case:{cid}"  # type: ignore[index]
    assert client.get("/api/cases", params={"overdue": True}).json()["items"][0]["overdue_stage"] == "verify"
