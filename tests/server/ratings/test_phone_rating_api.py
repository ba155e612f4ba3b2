"""The phone page's rating route (``POST /api/tickets/by-token/{token}/rating``) and case escalation over HTTP.

Production app (tests/support/apps.py make_app), the store on a clock the test moves; fixtures
from tests/server/ratings/test_ratings_api.py (reasons required, free text ≤ 50).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from server.haochaping.record import FIELD_NAMES
from tests.server.ratings.test_ratings_api import START, W1, Clock, client, clock, finished, rate  # noqa: F401
from tests.support import until_sync

PUBLIC = {"Authorization": ""}  # no credential but the token in the path


def by_token(client: TestClient, token: str, **body: Any) -> Any:  # noqa: F811
    return client.post(f"/api/tickets/by-token/{token}/rating", json=body, headers=PUBLIC)


def test_the_token_rates_once_after_finish_on_channel_qr(client: TestClient) -> None:  # noqa: F811
    assert by_token(client, "no-such-token", level=5).json()["code"] == "unknown_ticket"
    waiting = client.post("/api/tickets", json={"service": "general"}).json()
    r = by_token(client, waiting["token"], level=5)
    assert r.status_code == 409 and r.json()["code"] == "not_ratable"  # no rating before 办结
    assert client.post(f"/api/tickets/{waiting['id']}/cancel").status_code == 200
    ticket = finished(client)
    token = ticket["token"]
    assert by_token(client, token, level=2).json()["code"] == "reasons_required"
    assert by_token(client, token, level=2, reasons=["nope"]).json()["code"] == "unknown_reason"
    assert by_token(client, token, level=2, reasons=["attitude"], text="长" * 51).json()["code"] == \
        "rating_text_too_long"
    # the channel is not the caller's to choose
    assert by_token(client, token, level=5, source="evaluator").status_code == 422
    r = by_token(client, token, level=2, reasons=["attitude"], text="态度不好")
    assert r.status_code == 200 and r.json()["rating"] == 2, r.text
    assert r.json().get("masked_id") is None and r.json().get("masked_name") is None  # a public answer
    assert rate(client, ticket, W1, level=5, source="window").json()["code"] == "already_rated"
    case = [c for c in client.get("/api/cases").json()["items"] if c["ticket_id"] == ticket["id"]]
    assert len(case) == 1 and case[0]["channel"] == "qr" and case[0]["text"] == "态度不好"
    exports = [e for e in client.get("/api/exports").json()["exports"] if e["ticket_id"] == ticket["id"]]
    assert len(exports) == 1 and exports[0]["record"]["channel"] == "二维码"
    assert exports[0]["record"]["channel_code"] == "qr" and exports[0]["record"]["reason_codes"] == ["attitude"]
    assert set(exports[0]["record"]) == set(FIELD_NAMES)  # every uploaded key has its Chinese field name
    audit = client.get("/api/audit", params={"actor": "citizen:qr"}).json()["items"]
    recorded = [a for a in audit if a["action"] == "evaluation.recorded"]
    assert len(recorded) == 1 and recorded[0]["detail"]["channel"] == "qr" and recorded[0]["detail"]["level"] == 2


def test_the_token_route_is_rate_limited(client: TestClient) -> None:  # noqa: F811
    ticket = client.post("/api/tickets", json={"service": "general"}).json()
    codes = [by_token(client, ticket["token"], level=5).status_code for _ in range(7)]
    assert codes[:5] == [409] * 5 and codes[5:] == [429, 429]  # not finished: refused, then limited
    r = by_token(client, ticket["token"], level=5)
    assert r.json()["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1


def test_an_overdue_case_escalates_with_a_critical_alert(client: TestClient, clock: Clock) -> None:  # noqa: F811
    ticket = finished(client)  # Friday 10:00
    assert by_token(client, ticket["token"], level=1, reasons=["efficiency"]).status_code == 200
    cid = client.get("/api/cases").json()["items"][0]["id"]
    clock.now = START + dt.timedelta(days=4)  # Tuesday: verification (end of Monday) overdue
    assert client.post("/api/cases/sweep").json()["alerted"] == [cid]
    assert client.get(f"/api/cases/{cid}").json()["escalation_level"] == 1
    clock.now = START + dt.timedelta(days=5, hours=12)  # Wednesday 22:00: Tue, Wed are the two further days
    assert client.post("/api/cases/sweep").json()["alerted"] == []
    clock.now = START + dt.timedelta(days=6)  # Thursday 10:00: escalated
    assert client.post("/api/cases/sweep").json()["alerted"] == [cid]
    alert = until_sync(lambda: [a for a in client.get("/api/alerts").json()["items"] if a["type"] == "case_escalated"])
    assert alert[0]["subject"] == f"case:{cid}" and alert[0]["severity"] == "critical"  # type: ignore[index]
    warning = [a for a in client.get("/api/alerts").json()["items"] if a["type"] == "case_overdue"]
    assert warning[0]["severity"] == "warning"
    got = client.get(f"/api/cases/{cid}").json()
    assert got["escalation_level"] == 2 and got["escalated_stage"] == "verify" and got["escalated_at"]
    assert [s["action"] for s in got["steps"]] == ["open", "overdue", "escalate"]
    lines = client.get("/api/cases.csv").text.lstrip("\ufeff").splitlines()
    assert lines[0].endswith("督办等级,升级督办时间") and lines[1].split(",")[-2] == "2"
