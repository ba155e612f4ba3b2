"""The console's call-back list (过号/挂起, time left in opening time, across lunch) and transfer targets."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.console.conftest import Clock, ok

LIST = "/api/console/windows/1/call-backs"


def issue(client: TestClient, service: str = "general") -> dict[str, object]:
    return ok(client.post("/api/tickets", json={"service": service}), 201)  # type: ignore[no-any-return]


def test_call_back_list_after_no_show_and_suspend_counts_opening_time_across_lunch(
        client: TestClient, clock: Clock) -> None:
    a, b = issue(client), issue(client)
    ok(client.post("/api/windows/1/open"))
    assert ok(client.post("/api/windows/1/call-next"))["id"] == a["id"]
    clock.to_local(11, 50)
    ok(client.post("/api/windows/1/no-show"))
    assert ok(client.post("/api/windows/1/call-next"))["id"] == b["id"]
    clock.to_local(11, 55)
    ok(client.post("/api/windows/1/suspend"))
    clock.to_local(11, 56)
    listed = ok(client.get(LIST))
    assert [(t["number"], t["state"], t["left_s"]) for t in listed] == [
        (b["number"], "suspended", 29 * 60), (a["number"], "no_show", 24 * 60)]

    # lunch 12:00–13:30 does not count: at 13:40 过号 A has used 10 + 10 minutes of its 30
    clock.to_local(13, 40)
    listed = ok(client.get(LIST))
    assert [(t["number"], t["left_s"]) for t in listed] == [(b["number"], 15 * 60), (a["number"], 10 * 60)]
    assert listed[1]["deadline"].startswith("2026-11-27T13:50")
    called = ok(client.post("/api/windows/1/call", json={"ticket_id": a["id"]}))  # one tap: 回呼
    assert called["state"] == "called" and called["number"] == a["number"]
    ok(client.post("/api/windows/1/start"))
    ok(client.post("/api/windows/1/finish"))

    # the suspended one has 15 minutes left at 13:40: listed at 13:54, gone at 13:56 and refused
    clock.to_local(13, 54)
    assert [t["number"] for t in ok(client.get(LIST))] == [b["number"]]
    clock.to_local(13, 56)
    assert ok(client.get(LIST)) == []
    r = client.post("/api/windows/1/call", json={"ticket_id": b["id"]})
    assert r.status_code == 409 and r.json()["code"] == "callback_expired"


def test_transfer_targets_list_only_open_windows_with_waiting_counts(client: TestClient) -> None:
    for n in (1, 2, 5):
        ok(client.post(f"/api/windows/{n}/open"))
    ok(client.post("/api/windows/5/pause", json={"reason": "午休"}))
    issue(client)
    issue(client)
    first = ok(client.post("/api/windows/1/call-next"))
    targets = ok(client.get("/api/console/windows/1/transfer-targets"))
    assert [w["number"] for w in targets["windows"]] == [2]  # 3, 4 … closed, 5 paused, 1 is this window
    assert targets["windows"][0]["waiting"] == 1  # the other general ticket waits for window 2 too
    served = {s["code"]: s for s in targets["services"]}
    assert served["general"]["waiting"] == 1 and served["general"]["windows"] == [1, 2]
    snapshot = ok(client.get("/api/hall"))
    open_services = {c for w in snapshot["windows"] if w["state"] in ("open", "calling", "serving")
                     for c in w["services"]}
    assert set(served) == open_services

    r = client.post("/api/windows/1/transfer", json={"to_window": 3})
    assert r.status_code == 409 and r.json()["code"] == "transfer_target_closed"
    r = client.post("/api/windows/1/transfer", json={"to_window": 5})
    assert r.status_code == 409 and r.json()["code"] == "transfer_target_closed"
    child = ok(client.post("/api/windows/1/transfer", json={"to_window": 2}))
    assert child["number"] == first["number"]  # 号码不变
    assert ok(client.get("/api/console/windows/2/transfer-targets"))["windows"][0]["number"] == 1


def test_a_clerk_reads_only_their_own_windows_lists(client: TestClient) -> None:
    from tests.support import demo_bearer

    clerk = demo_bearer(client, "clerk1", window=1)
    assert client.get(LIST, headers=clerk).status_code == 200
    assert client.get("/api/console/windows/2/call-backs", headers=clerk).status_code == 403
    assert client.get("/api/console/windows/2/transfer-targets", headers=clerk).status_code == 403
