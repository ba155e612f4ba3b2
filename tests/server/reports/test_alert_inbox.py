"""The stored alert inbox (server/alerts/) on the production app: one bad rating = one alert,
acknowledge/resolve, live push on ``alerts``, kept across a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from server.queue.events import EventType
from tests.support import DEMO_DEVICE_HOST, demo_bearer, make_app
from tests.support.polling import until_sync

MORNING = dt.datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _bad_rating(client: TestClient) -> int:
    ticket = client.post("/api/tickets", json={"service": "general"}).json()
    assert client.post("/api/windows/1/open", json={}).status_code == 200
    assert client.post("/api/windows/1/call-next").json()["id"] == ticket["id"]
    assert client.post("/api/windows/1/finish").status_code == 200
    r = client.post(f"/api/tickets/{ticket['id']}/rating", json={"level": 1, "reasons": ["attitude"]},
                    headers=DEMO_DEVICE_HOST)
    assert r.status_code == 200, r.text
    return int(ticket["id"])


def _open(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/alerts").json()["items"]
    return items


def test_one_bad_rating_is_one_alert_kept_across_restart(tmp_path: Path, hall_config: Any) -> None:
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(demo_bearer(client, "supervisor"))
        hub = app.state.services.hub
        pushed = hub.subscribe(("alerts",))
        ticket_id = _bad_rating(client)
        until_sync(lambda: _open(client), message="the bad rating never reached the inbox")
        # the camera reports the same 差评 with its snapshot: the same alert, now with evidence
        snapshot = "/api/snapshots/2026-12-01/w1-rating.jpg"
        client.portal.call(hub.publish_ephemeral, EventType.ALERT_BAD_RATING, ("alerts",), {  # type: ignore[union-attr]
            "ticket_id": ticket_id, "number": "A001", "window": 1, "level": 1, "camera": "cam1",
            "snapshot": snapshot, "message": "1号窗口收到差评（A001）"})
        until_sync(lambda: _open(client)[0]["evidence"] == snapshot)
        alerts = _open(client)
        assert len(alerts) == 1
        assert (alerts[0]["type"], alerts[0]["subject"], alerts[0]["count"]) == ("bad_rating", f"ticket:{ticket_id}", 1)
        assert alerts[0]["state"] == "open"
        alert_id = alerts[0]["id"]
    # pushed live on the supervisors' topic: the new alert, then its evidence update
    items = []
    while not pushed.queue.empty():
        items.append(pushed.queue.get_nowait())
    mine = [e.data["alert"] for e in items if getattr(e, "type", None) == EventType.ALERT_RAISED]
    assert [(a["id"], a["evidence"]) for a in mine] == [(alert_id, None), (alert_id, snapshot)]
    # a restart: the alert is still there, and can be acknowledged and resolved
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(demo_bearer(client, "supervisor"))
        assert [a["id"] for a in _open(client)] == [alert_id]
        acked = client.post(f"/api/alerts/{alert_id}/ack").json()
        assert (acked["state"], acked["acked_by"]) == ("acked", "supervisor:supervisor")
        assert [a["id"] for a in client.get("/api/alerts", params={"state": "acked"}).json()["items"]] == [alert_id]
        resolved = client.post(f"/api/alerts/{alert_id}/resolve").json()
        assert resolved["state"] == "resolved" and resolved["acked_by"] == "supervisor:supervisor"
        assert _open(client) == []
        assert client.get("/api/alerts", params={"state": "resolved", "type": "bad_rating"}).json()["count"] == 1
        assert client.post("/api/alerts/999/ack").status_code == 404
        clerk = demo_bearer(client, "clerk1", window=1)
        assert client.get("/api/alerts", headers=clerk).status_code == 403


def test_clerk_absence_counts_repeats_and_clears(tmp_path: Path, hall_config: Any) -> None:
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(demo_bearer(client, "supervisor"))
        hub = app.state.services.hub

        def absent(active: bool) -> None:
            client.portal.call(hub.publish_ephemeral, EventType.ALERT_CLERK_ABSENT, ("alerts",), {  # type: ignore[union-attr]
                "camera": "cam1", "window": 3, "active": active, "snapshot": None, "message": "3号窗口人员离岗"})

        absent(True)
        absent(True)
        until_sync(lambda: _open(client) and _open(client)[0]["count"] == 2)
        absent(False)
        until_sync(lambda: _open(client) == [])
        done = client.get("/api/alerts", params={"state": "resolved"}).json()["items"]
        assert [(a["subject"], a["resolved_by"], a["count"]) for a in done] == [("window:3", "system", 2)]
        absent(True)  # a new absence after the resolution is a new alert
        until_sync(lambda: len(_open(client)) == 1)
        assert _open(client)[0]["id"] != done[0]["id"]


def test_rules_run_on_the_stored_queue_and_clear(tmp_path: Path, hall_config: Any) -> None:
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(demo_bearer(client, "supervisor"))
        inbox = app.state.services.alerts
        # a Wednesday morning, not the wall clock: two hours later must be the same business day
        app.state.services.store.clock = lambda: MORNING
        assert client.post("/api/tickets", json={"service": "general"}).status_code == 201
        inbox.clock = lambda: MORNING.timestamp() + 2 * 3600  # two hours later, nobody has opened a window
        client.portal.call(inbox.evaluate_rules)  # type: ignore[union-attr]
        found = {(a["type"], a["subject"]) for a in _open(client)}
        assert {("long_wait", "service:general"), ("unserved", "service:general")} <= found
        client.portal.call(inbox.evaluate_rules)  # type: ignore[union-attr]
        assert all(a["count"] == 1 for a in _open(client))  # a steady condition is not re-counted
        assert client.post("/api/windows/1/open", json={}).status_code == 200
        client.portal.call(inbox.evaluate_rules)  # type: ignore[union-attr]
        found = {(a["type"], a["subject"]) for a in _open(client)}
        assert ("unserved", "service:general") not in found and ("long_wait", "service:general") in found


def test_device_fault_is_an_alert_until_the_device_is_ready(tmp_path: Path, hall_config: Any) -> None:
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(demo_bearer(client, "supervisor"))
        hub = app.state.services.hub

        def health(state: str, faults: list[str]) -> None:
            client.portal.call(hub.publish_ephemeral, EventType.DEVICE_HEALTH, ("devices",), {  # type: ignore[union-attr]
                "device": {"id": "printer-k1", "kind": "printer", "health": {"state": state, "faults": faults}}})

        health("fault", ["paper_out"])
        until_sync(lambda: _open(client))
        assert [(a["type"], a["subject"], a["severity"]) for a in _open(client)] == [
            ("device_fault", "device:printer-k1", "critical")]
        assert "paper_out" in _open(client)[0]["message"]
        health("ready", [])
        until_sync(lambda: _open(client) == [])
