"""代取号 / 绿色通道 through the production app: issued on channel staff (代办), audited, staff only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivers.idcard.samples import SAMPLES
from tests.server.console.conftest import ok
from tests.support import DEMO_DEVICE_HOST, DEMO_DISPLAY_HALL, DEMO_KIOSK_K1, demo_bearer

YOUNG = SAMPLES["young"].id_number
ELDERLY = SAMPLES["elderly"].id_number


def audit_of(client: TestClient, ticket_id: int, action: str) -> dict[str, Any]:
    """The one audit record of ``action`` for the ticket."""
    items = ok(client.get("/api/audit", params={"ticket": ticket_id}))["items"]
    found = [i for i in items if i["action"] == action]
    assert len(found) == 1, items
    return found[0]  # type: ignore[no-any-return]


def channels(client: TestClient) -> dict[str, int]:
    """Today's channel counts from the summary report."""
    return ok(client.get("/api/reports/summary"))["totals"]["channels"]  # type: ignore[no-any-return]


def test_proxy_issue_without_id_number_is_daiban_and_audited(client: TestClient) -> None:
    clerk = demo_bearer(client, "clerk3", window=3)
    t = ok(client.post("/api/console/tickets", headers=clerk, json={"service": "general", "reason": "disabled"}), 201)
    assert t["channel"] == "staff" and t["priority"] == "normal" and t["masked_id"] is None
    assert t["print"] is None and t["reason"]["zh"] == "残疾人"
    record = audit_of(client, t["id"], "console.proxy_issue")
    assert record["actor"] == "clerk:clerk3@3" and record["role"] == "clerk"
    assert record["detail"]["reason"] == "disabled" and record["detail"]["grantor"] == "clerk:clerk3@3"
    ok(client.post("/api/tickets", json={"service": "general"}), 201)  # a kiosk-channel ticket for contrast
    assert channels(client) == {"staff": 1, "kiosk": 1}


def test_proxy_issue_with_id_number_keeps_only_hash_and_mask(client: TestClient) -> None:
    t = ok(client.post("/api/console/tickets", json={"service": "general", "reason": "elderly",
                                                     "id_number": " " + ELDERLY.lower() + " "}), 201)
    assert t["masked_id"] == ELDERLY[:6] + "*" * 8 + ELDERLY[-4:]
    assert t["priority"] == "priority"  # the number says 60+: the engine's elderly rule applies
    record = audit_of(client, t["id"], "console.proxy_issue")
    assert record["detail"]["priority"] == "priority" and record["detail"]["requested_priority"] == "normal"
    assert ELDERLY not in str(record) and ELDERLY not in str(t)
    store = client.app.state.services.store  # type: ignore[attr-defined]
    with store._read() as conn:
        dumped = "\n".join(str(tuple(r)) for r in conn.exec_driver_sql("SELECT * FROM tickets").all())
    assert ELDERLY not in dumped and t["masked_id"] in dumped
    assert channels(client) == {"staff": 1}


@pytest.mark.parametrize("number, problem", [(SAMPLES["bad_check"].id_number, "check_digit"),
                                             ("11010519491231", "format"), (YOUNG[:6] + "30001231" + YOUNG[14:], None)])
def test_a_wrong_id_number_is_422_and_nothing_is_issued(client: TestClient, number: str, problem: str | None) -> None:
    r = client.post("/api/console/tickets", json={"service": "general", "reason": "elderly", "id_number": number})
    assert r.status_code == 422 and r.json()["code"] == "invalid_id_number", r.text
    if problem:
        assert r.json()["problem"] == problem
    assert number not in r.text
    assert channels(client) == {}


def test_reason_must_come_from_the_configured_list(client: TestClient) -> None:
    r = client.post("/api/console/tickets", json={"service": "general", "reason": "vip"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_console_reason"
    assert "elderly" in r.json()["allowed"]
    r = client.post("/api/console/tickets", json={"service": "general"})
    assert r.status_code == 422  # no reason at all
    assert channels(client) == {}


def test_green_channel_by_staff_with_reason_and_grantor_in_the_audit(client: TestClient) -> None:
    sup = demo_bearer(client, "supervisor")
    t = ok(client.post("/api/console/tickets", headers=sup,
                       json={"service": "general", "reason": "key_project", "priority": "green", "note": "重点项目A"}),
           201)
    assert t["priority"] == "green" and t["channel"] == "staff"
    record = audit_of(client, t["id"], "console.green_grant")
    d = record["detail"]
    assert record["actor"] == "supervisor:supervisor" and d["grantor"] == "supervisor:supervisor"
    assert d["reason"] == "key_project" and d["reason_zh"] == "重点项目" and d["note"] == "重点项目A"
    assert d["grantor_name"] == "值班主任" and d["priority"] == "green"
    # a 代取号 reason is not a 绿色通道 reason: the grant needs one of console.green_reasons
    r = client.post("/api/console/tickets", headers=sup, json={"service": "general", "reason": "agent",
                                                               "priority": "green"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_console_reason"


@pytest.mark.parametrize("headers", [DEMO_KIOSK_K1, DEMO_DEVICE_HOST, DEMO_DISPLAY_HALL], ids=["kiosk", "device",
                                                                                                "display"])
def test_green_channel_and_proxy_issue_refuse_device_tokens(client: TestClient, headers: dict[str, str]) -> None:
    for body in ({"service": "general", "reason": "urgent", "priority": "green"},
                 {"service": "general", "reason": "elderly"}):
        r = client.post("/api/console/tickets", headers={**headers}, json=body)
        assert r.status_code == 403, r.text
    anonymous = client.post("/api/console/tickets", headers={"Authorization": ""},
                            json={"service": "general", "reason": "elderly"})
    assert anonymous.status_code == 401
    assert channels(client) == {}
    items = ok(client.get("/api/audit"))["items"]
    assert not [i for i in items if i["action"].startswith("console.")]


def test_unknown_or_printerless_print_target(client: TestClient) -> None:
    r = client.post("/api/console/tickets", json={"service": "general", "reason": "elderly", "print_at": "nowhere"})
    assert r.status_code == 404 and r.json()["code"] == "unknown_kiosk"
    r = client.post("/api/console/tickets", json={"service": "general", "reason": "elderly", "print_at": "k1"})
    assert r.status_code == 422 and r.json()["code"] == "no_print_target"  # this hall has no devices at all
    opts = ok(client.get("/api/console/options"))
    assert opts["printers"] == [] and [r["zh"] for r in opts["proxy_reasons"]] == [
        "老年人", "残疾人", "代办员", "电话预约", "其他"]
    assert opts["pause_reasons"][1] == {"code": "lunch", "zh": "午休", "en": "Lunch"}
