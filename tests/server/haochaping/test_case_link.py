"""``POST /api/windows/{n}/case-link``: who may bind, what is refused, and triggering the evaluator."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from server.haochaping.receiver import Receiver
from tests.support import DEMO_DEVICE_HOST, DEMO_DISPLAY_HALL, DEMO_KIOSK_K1, demo_bearer, until_sync

Start = Callable[..., TestClient]
LINK = {"project_no": "330100-2026-000123", "item_code": "11330100002493612T333011"}


def _serving(client: TestClient, window: int) -> int:
    ticket = client.post("/api/tickets", json={"service": "general"}).json()
    assert client.post(f"/api/windows/{window}/open", json={}).status_code == 200
    assert client.post(f"/api/windows/{window}/call-next").json()["id"] == ticket["id"]
    assert client.post(f"/api/windows/{window}/start").status_code == 200
    return int(ticket["id"])


def test_clerk_of_the_window_device_and_managers_bind(exporting: Start) -> None:
    client = exporting()
    ticket_id = _serving(client, 1)
    clerk1 = demo_bearer(client, "clerk1", window=1)
    r = client.post("/api/windows/1/case-link", json=LINK, headers=clerk1)
    assert r.status_code == 200, r.text
    assert r.json() | {"at": 0} == {**LINK, "ticket_id": ticket_id, "window": 1, "actor": r.json()["actor"],
                                    "at": 0, "rating_requested": False}
    assert client.post("/api/windows/1/case-link", json=LINK, headers=DEMO_DEVICE_HOST).status_code == 200
    corrected = client.post("/api/windows/1/case-link", json={**LINK, "project_no": "330100-2026-000124"})
    assert corrected.status_code == 200  # the admin (a manager); the latest binding replaces the earlier one
    exports = client.app.state.services.exports  # type: ignore[attr-defined]
    link = client.portal.call(exports.link, ticket_id)  # type: ignore[union-attr]
    assert link is not None and link.project_no == "330100-2026-000124"

    other = client.post("/api/windows/1/case-link", json=LINK, headers=demo_bearer(client, "clerk2", window=2))
    assert other.status_code == 403 and other.json()["code"] == "wrong_window"
    for headers in (DEMO_KIOSK_K1, DEMO_DISPLAY_HALL):
        refused = client.post("/api/windows/1/case-link", json=LINK, headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.post("/api/windows/1/case-link", json=LINK, headers={"Authorization": ""}).status_code == 401


def test_bad_bindings_are_refused(exporting: Start) -> None:
    client = exporting()
    assert client.post("/api/windows/1/open", json={}).status_code == 200
    idle = client.post("/api/windows/1/case-link", json=LINK)
    assert idle.status_code == 409 and idle.json()["code"] == "no_current_ticket"
    assert client.post("/api/windows/99/case-link", json=LINK).status_code in (403, 404)
    _serving(client, 1)
    for body in ({**LINK, "project_no": ""}, {**LINK, "item_code": "x" * 65}, {**LINK, "project_no": "a b"},
                 {"project_no": "1"}, {**LINK, "extra": 1}, {**LINK, "project_no": "<script>"}):
        r = client.post("/api/windows/1/case-link", json=body)
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", body


def test_the_approval_system_binds_at_banjie_and_triggers_the_evaluator(exporting: Start, receiver: Receiver) -> None:
    client = exporting()
    ticket_id = _serving(client, 1)
    early = client.post("/api/windows/1/case-link", json={**LINK, "request_rating": True}, headers=DEMO_DEVICE_HOST)
    assert early.status_code == 409  # still being served: no rating before 办结 …
    assert client.post("/api/windows/1/finish").status_code == 200
    r = client.post("/api/windows/1/case-link", json={**LINK, "request_rating": True}, headers=DEMO_DEVICE_HOST)
    assert r.status_code == 200 and r.json()["rating_requested"] is True and r.json()["ticket_id"] == ticket_id
    due = client.get("/api/windows/1/rating-due", headers=DEMO_DEVICE_HOST)
    assert due.status_code == 200 and due.json()["id"] == ticket_id
    rated = client.post(f"/api/tickets/{ticket_id}/rating", json={"level": 5, "source": "evaluator"},
                        headers=DEMO_DEVICE_HOST)
    assert rated.status_code == 200
    until_sync(lambda: receiver.state.records, timeout=10)
    (record,) = receiver.state.records.values()
    assert (record["project_no"], record["item_code"]) == (LINK["project_no"], LINK["item_code"])
    # once rated, the finished ticket is no longer a binding target
    late = client.post("/api/windows/1/case-link", json=LINK)
    assert late.status_code == 409 and late.json()["code"] == "no_current_ticket"


def test_exports_are_for_managers(exporting: Start) -> None:
    client = exporting()
    assert client.get("/api/exports", headers={"Authorization": ""}).status_code == 401
    clerk = client.get("/api/exports", headers=demo_bearer(client, "clerk1", window=1))
    assert clerk.status_code == 403
    supervisor = client.get("/api/exports", headers=demo_bearer(client, "supervisor"))
    assert supervisor.status_code == 200 and supervisor.json()["backlog"] == 0
    assert client.get("/api/exports", params={"state": "lost"}).status_code == 422
