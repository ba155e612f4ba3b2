"""The 好差评 outbox against the test receiver: offline catch-up, parking, racing senders, the binding."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from server.haochaping import outbox
from server.haochaping.adapters import GenericAdapter
from server.haochaping.receiver import Receiver
from server.haochaping.sender import ExportService
from server.haochaping.settings import ExportSettings
from tests.server.haochaping.flows import SECRET, key_of, serve_and_rate
from tests.support import until_sync

Start = Callable[..., TestClient]


def status(client: TestClient, **params: Any) -> dict[str, Any]:
    r = client.get("/api/exports", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def by_key(client: TestClient) -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in status(client, limit=1000)["exports"]}


def test_offline_backlog_then_each_record_delivered_once_signed(exporting: Start, receiver: Receiver) -> None:
    receiver.state.offline = True
    client = exporting()
    tickets = [serve_and_rate(client, level=level) for level in (5, 4, 3, 5)]
    keys = {key_of(t) for t in tickets}

    # the link is down: every record is tried, fails, is retried with backoff, and waits in the backlog
    until_sync(lambda: all(e["attempts"] >= 2 and e["state"] in ("failed", "sending")
                           for e in by_key(client).values()) and len(by_key(client)) == 4,
               timeout=10, message="records were not retried while offline")
    offline = status(client)
    assert offline["backlog"] == 4 and offline["counts"]["sent"] == 0
    assert all(e["last_error"] for e in offline["exports"] if e["state"] == "failed")
    assert receiver.state.records == {} and receiver.state.refused >= 8

    receiver.state.offline = False
    until_sync(lambda: status(client)["counts"]["sent"] == 4, timeout=10, message="backlog not caught up")
    # a few more sender rounds must not send anything again
    exports: ExportService = client.app.state.services.exports  # type: ignore[attr-defined]
    for _ in range(3):
        assert client.portal.call(exports.tick) == 0  # type: ignore[union-attr]
    assert set(receiver.state.records) == keys
    assert dict(receiver.state.deliveries) == dict.fromkeys(keys, 1)  # exactly once each (idempotency keys)
    assert receiver.state.bad_signatures == 0  # the receiver checked every signature
    done = status(client)
    assert done["backlog"] == 0 and all(e["sent_at"] and e["last_error"] is None for e in done["exports"])


def test_a_rejected_record_is_parked_and_the_rest_go(exporting: Start, receiver: Receiver) -> None:
    client = exporting()
    first = serve_and_rate(client)
    bad = serve_and_rate(client, before_rating=lambda t: receiver.state.reject.add(key_of(t)))
    last = serve_and_rate(client)  # queued after the refused one: it must still go
    until_sync(lambda: {key_of(first), key_of(last)} <= set(receiver.state.records)
               and by_key(client)[key_of(bad)]["state"] == "parked", timeout=10)
    parked = by_key(client)[key_of(bad)]
    assert "422" in parked["last_error"] and parked["attempts"] == 1
    exports: ExportService = client.app.state.services.exports  # type: ignore[attr-defined]
    client.portal.call(exports.tick)  # type: ignore[union-attr]
    assert by_key(client)[key_of(bad)]["attempts"] == 1  # parked: not retried on its own
    assert status(client, state="parked")["counts"]["parked"] == 1 and status(client)["backlog"] == 1

    # the province fixed it; a supervisor sends it again
    receiver.state.reject = set()
    assert client.post(f"/api/exports/{parked['id']}/retry").status_code == 204
    until_sync(lambda: by_key(client)[key_of(bad)]["state"] == "sent", timeout=10)
    assert receiver.state.deliveries[key_of(bad)] == 1
    assert client.post(f"/api/exports/{parked['id']}/retry").json()["code"] == "export_not_retryable"
    assert client.post("/api/exports/99999/retry").json()["code"] == "unknown_export"


def test_a_wrong_secret_is_refused_by_the_receiver_and_parked(exporting: Start, receiver: Receiver) -> None:
    client = exporting(SECRET="not-the-shared-secret")
    ticket = serve_and_rate(client)
    until_sync(lambda: by_key(client).get(key_of(ticket), {}).get("state") == "parked", timeout=10)
    assert "401" in by_key(client)[key_of(ticket)]["last_error"]
    assert receiver.state.bad_signatures == 1 and receiver.state.records == {}


def test_5xx_is_retried_until_the_receiver_recovers(exporting: Start, receiver: Receiver) -> None:
    receiver.state.fail = True
    client = exporting()
    ticket = serve_and_rate(client)
    until_sync(lambda: by_key(client).get(key_of(ticket), {}).get("attempts", 0) >= 2, timeout=10)
    assert "503" in by_key(client)[key_of(ticket)]["last_error"]
    receiver.state.fail = False
    until_sync(lambda: by_key(client)[key_of(ticket)]["state"] == "sent", timeout=10)
    assert receiver.state.deliveries[key_of(ticket)] == 1


def test_two_senders_racing_send_each_record_once(exporting: Start, receiver: Receiver) -> None:
    client = exporting(SENDER="0")  # no loop of the app's own: the two below race alone
    services = client.app.state.services  # type: ignore[attr-defined]
    tickets = [serve_and_rate(client) for _ in range(6)]
    settings = ExportSettings(url=receiver.url, secret=SECRET, agency_code="11330100MB0000000X", batch=3)
    senders = [ExportService(settings, services.config, services.store, services.hall, GenericAdapter(settings))
               for _ in range(2)]

    # the same due record, claimed by both: one conditional update wins
    client.portal.call(senders[0].enqueue)  # type: ignore[union-attr]
    engine, now = services.store.engine, senders[0].now_ms()
    with engine.connect() as conn:
        first = outbox.due(conn, now_ms=now, limit=1)[0]
    wins = []
    for sender in senders:
        with engine.begin() as conn:
            wins.append(outbox.claim(conn, first, sender=sender.name, now_ms=now, lease_ms=60_000))
    assert sum(w is not None for w in wins) == 1
    winner = next(s.name for s, w in zip(senders, wins, strict=True) if w is not None)
    loser = next(s.name for s in senders if s.name != winner)
    with engine.begin() as conn:  # only the claimant settles; the winner hands it back, as if its send failed
        assert not outbox.settle(conn, first, sender=loser, state="sent", now_ms=now)
        assert outbox.settle(conn, first, sender=winner, state="pending", now_ms=now, retry_at=now)

    async def race() -> None:
        for _ in range(4):
            await asyncio.gather(*(s.tick() for s in senders))

    client.portal.call(race)  # type: ignore[union-attr]
    assert dict(receiver.state.deliveries) == {key_of(t): 1 for t in tickets}
    assert status(client)["counts"]["sent"] == 6
    for sender in senders:
        client.portal.call(sender.stop)  # type: ignore[union-attr]


def test_the_case_link_travels_with_the_rating(exporting: Start, receiver: Receiver) -> None:
    client = exporting()
    ticket = serve_and_rate(client, window=1, level=4, link=("330100-2026-000123", "11330100002493612T333011"))
    unbound = serve_and_rate(client, window=1, level=5)
    until_sync(lambda: {key_of(ticket), key_of(unbound)} <= set(receiver.state.records), timeout=10)
    record = receiver.state.records[key_of(ticket)]
    assert record["project_no"] == "330100-2026-000123" and record["item_code"] == "11330100002493612T333011"
    assert record["evaluation_id"] == key_of(ticket)
    assert record["level"] == 4 and record["level_label"] == "满意"
    assert record["channel"] == "现场评价器" and record["channel_code"] == "evaluator"
    assert record["window_no"] == 1 and record["window_name"]
    assert record["agency_code"] == "11330100MB0000000X" and record["agency_name"] == "示范区政务服务中心"
    assert record["ticket_number"] == ticket["number"] and record["evaluated_at"].endswith("+08:00")
    assert record["real_name"] is False and record["masked_id"] is None  # issued without an ID card
    assert set(record) >= {"staff_no", "reason_codes", "reason_text", "service_code", "business_day"}
    assert receiver.state.records[key_of(unbound)]["project_no"] is None
