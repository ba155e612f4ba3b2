"""Clerk endpoints: the window life cycle and every calling action."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def post(client: TestClient, path: str, status: int = 200, **body: Any) -> Any:
    r = client.post(path, json=body or None)
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def code(r: Any) -> str:
    assert r.headers["content-type"].startswith(PROBLEM)
    return r.json()["code"]  # type: ignore[no-any-return]


def issue(client: TestClient, service: str = "general") -> dict[str, Any]:
    return post(client, "/api/tickets", 201, service=service)  # type: ignore[no-any-return]


def test_full_cycle_and_204_when_nothing_waits(client: TestClient) -> None:
    window = post(client, "/api/windows/1/open", clerk="clerk1")  # a 工号 from the staff directory
    assert window["state"] == "open" and window["clerk"] == "clerk1"
    r = client.post("/api/windows/1/call-next")
    assert r.status_code == 204 and r.content == b""

    ticket = issue(client)
    called = post(client, "/api/windows/1/call-next")
    assert called["id"] == ticket["id"] and called["state"] == "called" and called["window"] == 1
    assert client.get("/api/windows/1").json()["current"]["id"] == ticket["id"]
    assert post(client, "/api/windows/1/recall")["recall_count"] == 1
    assert post(client, "/api/windows/1/start")["state"] == "serving"
    assert post(client, "/api/windows/1/finish")["state"] == "done"
    assert client.get(f"/api/tickets/{ticket['id']}").json()["state"] == "done"
    assert client.get("/api/windows/1").json()["current"] is None


def test_impossible_transitions_are_409(client: TestClient) -> None:
    assert code(client.post("/api/windows/2/call-next")) == "window_not_open"
    post(client, "/api/windows/2/open")
    r = client.post("/api/windows/2/finish")
    assert r.status_code == 409 and code(r) in ("invalid_transition", "nothing_to_recall")
    issue(client)
    post(client, "/api/windows/2/call-next")
    r = client.post("/api/windows/2/call-next")
    assert r.status_code == 409 and code(r) == "window_busy"
    post(client, "/api/windows/2/start")
    r = client.post("/api/windows/2/start")  # already serving
    assert r.status_code == 409 and code(r) == "invalid_transition"
    r = client.post("/api/windows/2/recall")  # recall is for a called ticket, not one being served
    assert r.status_code == 409


def test_pause_refuses_calls_until_resumed(client: TestClient) -> None:
    post(client, "/api/windows/3/open")
    paused = post(client, "/api/windows/3/pause", reason="离岗：会议")
    assert paused["state"] == "paused" and paused["pause_reason"] == "离岗：会议"
    issue(client)
    r = client.post("/api/windows/3/call-next")
    assert r.status_code == 409 and code(r) == "window_not_open"
    assert post(client, "/api/windows/3/resume")["state"] == "open"
    assert post(client, "/api/windows/3/call-next")["state"] == "called"
    closed = client.post("/api/windows/3/close")
    assert closed.status_code in (200, 409)


def test_no_show_suspend_and_call_back(client: TestClient) -> None:
    post(client, "/api/windows/1/open")
    first, second = issue(client), issue(client)
    post(client, "/api/windows/1/call-next")
    assert post(client, "/api/windows/1/no-show")["state"] == "no_show"
    post(client, "/api/windows/1/call-next")
    assert post(client, "/api/windows/1/suspend")["state"] == "suspended"
    again = post(client, "/api/windows/1/call", ticket_id=second["id"])
    assert again["id"] == second["id"] and again["state"] == "called"
    assert client.get(f"/api/tickets/{first['id']}").json()["state"] == "no_show"


def test_transfer_creates_a_child_ticket(client: TestClient) -> None:
    post(client, "/api/windows/1/open")
    parent = issue(client)
    post(client, "/api/windows/1/call-next")
    post(client, "/api/windows/1/start")
    child = post(client, "/api/windows/1/transfer", to_service="social")
    assert child["parent_id"] == parent["id"] and child["service"] == "social" and child["state"] == "issued"
    assert client.get(f"/api/tickets/{parent['id']}").json()["state"] == "transferred"
    for body in ({}, {"to_service": "social", "to_window": 2}, {"to_window": "x"}):
        r = client.post("/api/windows/1/transfer", json=body)
        assert r.status_code == 422 and code(r) == "invalid_request"


def test_request_rating_and_waiting_list(client: TestClient) -> None:
    post(client, "/api/windows/1/open")
    tickets = [issue(client) for _ in range(3)]
    waiting = client.get("/api/windows/1/waiting").json()
    assert [t["id"] for t in waiting] == [t["id"] for t in tickets]
    post(client, "/api/windows/1/call-next")
    post(client, "/api/windows/1/start")
    r = client.post("/api/windows/1/request-rating")  # rating only after 办结
    assert r.status_code == 409 and code(r) == "not_ratable"
    post(client, "/api/windows/1/finish")
    asked = post(client, "/api/windows/1/request-rating")
    assert asked["id"] == tickets[0]["id"]


def test_unknown_window_and_bad_numbers(client: TestClient) -> None:
    for path in ("/api/windows/999/open", "/api/windows/999/call-next"):
        r = client.post(path)
        assert r.status_code == 404 and code(r) == "unknown_window"
    assert client.get("/api/windows/999").status_code == 404
    r = client.post("/api/windows/zero/open")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "number"
    r = client.post("/api/windows/1/call", json={"ticket_id": -1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ticket_id"
    r = client.post("/api/windows/1/pause", json={"reason": "x" * 500})
    assert r.status_code == 422
