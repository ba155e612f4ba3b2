"""Citizen endpoints: issue, look up, cancel, rate."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support import DEMO_DEVICE_HOST

PROBLEM = "application/problem+json"


def issue(client: TestClient, service: str = "general", **body: Any) -> dict[str, Any]:
    r = client.post("/api/tickets", json={"service": service, **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def serve_one(client: TestClient, window: int = 1) -> dict[str, Any]:
    ticket = issue(client)
    assert client.post(f"/api/windows/{window}/open", json={}).status_code == 200
    assert client.post(f"/api/windows/{window}/call-next").json()["id"] == ticket["id"]
    assert client.post(f"/api/windows/{window}/start").status_code == 200
    done = client.post(f"/api/windows/{window}/finish")
    assert done.status_code == 200 and done.json()["state"] == "done"
    return ticket


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith(code)
    assert body["title"] and body["detail"] and body["zh"] and body["en"]
    return body


def test_issue_answers_201_with_number_position_and_token(client: TestClient) -> None:
    first = issue(client)
    second = issue(client, channel="staff")
    for field in ("id", "number", "service", "state", "ahead", "eta_minutes", "token"):
        assert field in first
    assert first["service"] == "general" and first["state"] == "issued"
    assert first["number"] == "A001" and second["number"] == "A002"
    assert second["ahead"] == first["ahead"] + 1
    assert second["channel"] == "staff"


def test_get_ticket_by_id_and_by_token(client: TestClient) -> None:
    ticket = issue(client, "social")
    by_id = client.get(f"/api/tickets/{ticket['id']}")
    by_token = client.get(f"/api/tickets/by-token/{ticket['token']}")
    assert by_id.status_code == by_token.status_code == 200
    assert by_id.json()["number"] == by_token.json()["number"] == ticket["number"]


def test_unknowns_are_404_problems(client: TestClient) -> None:
    assert_problem(client.get("/api/tickets/999999"), 404, "unknown_ticket")
    assert_problem(client.get("/api/tickets/by-token/nosuchtoken"), 404, "unknown_ticket")
    body = assert_problem(client.post("/api/tickets", json={"service": "nope"}), 404, "unknown_service")
    assert body["service"] == "nope"
    assert_problem(client.post("/api/tickets/424242/cancel"), 404, "unknown_ticket")
    assert_problem(client.get("/no/such/page"), 404, "not_found")


def test_invalid_bodies_are_422_naming_the_field(client: TestClient) -> None:
    cases = [
        ({}, "service"),
        ({"service": "general", "priority": "vip"}, "priority"),
        ({"service": "general", "channel": "fax"}, "channel"),
        ({"service": "general", "colour": "red"}, "colour"),
        ({"service": 12}, "service"),
    ]
    for body, field in cases:
        problem = assert_problem(client.post("/api/tickets", json=body), 422, "invalid_request")
        assert field in [e["field"] for e in problem["errors"]], problem
        assert field in problem["zh"]
    raw = client.post("/api/tickets", content=b"{not json", headers={"content-type": "application/json"})
    assert_problem(raw, 422, "invalid_request")
    path = assert_problem(client.get("/api/tickets/abc"), 422, "invalid_request")
    assert path["errors"][0]["field"] == "ticket_id"
    assert_problem(client.get("/api/tickets/99999999999999999999999"), 422, "invalid_request")


def test_cancel_a_waiting_ticket_once(client: TestClient) -> None:
    ticket = issue(client)
    r = client.post(f"/api/tickets/{ticket['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert_problem(client.post(f"/api/tickets/{ticket['id']}/cancel"), 409, "invalid_transition")


def test_rating_only_after_service_and_only_once(client: TestClient) -> None:
    waiting = issue(client, "medical")
    rater = DEMO_DEVICE_HOST  # staff never rate; the window's evaluator (a device host) does
    conflict = client.post(f"/api/tickets/{waiting['id']}/rating", json={"level": 5},
                           headers={"Authorization": "", "X-Ticket-Token": waiting["token"]})  # or its holder
    assert conflict.status_code == 409 and conflict.json()["code"] in ("not_ratable", "invalid_transition")

    served = serve_one(client)
    r = client.post(f"/api/tickets/{served['id']}/rating", json={"level": 5}, headers=rater)
    assert r.status_code == 200 and r.json()["rating"] == 5
    assert_problem(client.post(f"/api/tickets/{served['id']}/rating", json={"level": 1}, headers=rater), 409,
                   "already_rated")
    for level in (0, 6, "five", None):
        problem = assert_problem(
            client.post(f"/api/tickets/{served['id']}/rating", json={"level": level}, headers=rater), 422,
            "invalid_request"
        )
        assert problem["errors"][0]["field"] == "level"
