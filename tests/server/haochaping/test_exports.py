"""The 好差评 outbox against the test receiver: offline catch-up, parking, racing senders, the binding."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from server.haochaping import outbox
from server.haochaping.adapters import GenericAdapter
from server.haochaping.receiver import Receiver
from server.haochaping.sender import ExportService
from server.haochaping.settings import ExportSettings
from server.store.tables import ratings
from tests.server.haochaping.flows import AGENCY_CODE, SECRET, key_of, serve_and_rate
from tests.support import until_sync

Start = Callable[..., TestClient]
UNKNOWN_CASE = "330100-2026-999999"  # a 办件编号 the receiver does not know: it refuses that record


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
    keys = {key_of(client, t) for t in tickets}
    assert len(keys) == 4

    # the link is down: every record is tried, fails, is retried with backoff, and waits in the backlog
    until_sync(lambda: all(e["attempts"] >= 2 and e["state"] in ("failed", "sending")
                           for e in by_key(client).values()), timeout=10, message="not retried while offline")
    offline = status(client)
    assert offline["backlog"] == 4 and offline["counts"]["sent"] == 0
    assert all(e["last_error"] for e in offline["exports"] if e["state"] == "failed")
    assert receiver.state.records == {} and receiver.state.refused >= 8

    receiver.state.offline = False
    until_sync(lambda: status(client)["counts"]["sent"] == 4, timeout=10, message="backlog not caught up")
    # more sender rounds send nothing again
    exports: ExportService = client.app.state.services.exports  # type: ignore[attr-defined]
    for _ in range(3):
        assert client.portal.call(exports.tick) == 0  # type: ignore[union-attr]
    assert set(receiver.state.records) == keys
    assert dict(receiver.state.deliveries) == dict.fromkeys(keys, 1)  # exactly once each (idempotency keys)
    assert receiver.state.bad_signatures == 0  # the receiver checked every signature
    done = status(client)
    assert done["backlog"] == 0 and all(e["sent_at"] and e["last_error"] is None for e in done["exports"])


def test_a_rejected_record_is_parked_and_the_rest_go(exporting: Start, receiver: Receiver) -> None:
    receiver.state.reject = {UNKNOWN_CASE}
    client = exporting()
    first = serve_and_rate(client)
    bad = serve_and_rate(client, link=(UNKNOWN_CASE, "11330100002493612T333011"))
    last = serve_and_rate(client)  # queued after the refused one: it must still go
    good_keys = {key_of(client, first), key_of(client, last)}
    bad_key = key_of(client, bad)
    # received is not yet recorded as sent: wait for the outbox rows, not only the receiver
    until_sync(lambda: good_keys <= set(receiver.state.records) and by_key(client)[bad_key]["state"] == "parked"
               and all(by_key(client)[k]["state"] == "sent" for k in good_keys), timeout=10)
    parked = by_key(client)[bad_key]
    assert "422" in parked["last_error"] and parked["attempts"] == 1
    exports: ExportService = client.app.state.services.exports  # type: ignore[attr-defined]
    client.portal.call(exports.tick)  # type: ignore[union-attr]
    assert by_key(client)[bad_key]["attempts"] == 1  # parked: not retried on its own
    assert status(client, state="parked")["counts"]["parked"] == 1 and status(client)["backlog"] == 1

    # the province registered the 办件; a supervisor sends the record again
    receiver.state.reject = set()
    assert client.post(f"/api/exports/{parked['id']}/retry").status_code == 204
    until_sync(lambda: by_key(client)[bad_key]["state"] == "sent", timeout=10)
    assert receiver.state.deliveries[bad_key] == 1
    assert client.post(f"/api/exports/{parked['id']}/retry").json()["code"] == "export_not_retryable"
    assert client.post("/api/exports/99999/retry").json()["code"] == "unknown_export"


def test_a_wrong_secret_is_refused_by_the_receiver_and_parked(exporting: Start, receiver: Receiver) -> None:
    client = exporting(SECRET="not-the-shared-secret")
    key = key_of(client, serve_and_rate(client))
    until_sync(lambda: by_key(client)[key]["state"] == "parked", timeout=10)
    assert "401" in by_key(client)[key]["last_error"]
    assert receiver.state.bad_signatures == 1 and receiver.state.records == {}


def test_5xx_is_retried_until_the_receiver_recovers(exporting: Start, receiver: Receiver) -> None:
    receiver.state.fail = True
    client = exporting()
    key = key_of(client, serve_and_rate(client))
    until_sync(lambda: by_key(client)[key]["attempts"] >= 2, timeout=10)
    assert "503" in by_key(client)[key]["last_error"]
    receiver.state.fail = False
    until_sync(lambda: by_key(client)[key]["state"] == "sent", timeout=10)
    assert receiver.state.deliveries[key] == 1


def test_two_senders_racing_send_each_record_once(exporting: Start, receiver: Receiver) -> None:
    client = exporting(SENDER="0")  # no loop of the app's own: the two below race alone
    services = client.app.state.services  # type: ignore[attr-defined]
    tickets = [serve_and_rate(client) for _ in range(6)]
    settings = ExportSettings(url=receiver.url, secret=SECRET, agency_code=AGENCY_CODE, batch=3)
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
    assert dict(receiver.state.deliveries) == {key_of(client, t): 1 for t in tickets}
    assert status(client)["counts"]["sent"] == 6
    for sender in senders:
        client.portal.call(sender.stop)  # type: ignore[union-attr]


def test_the_case_link_travels_with_the_rating(exporting: Start, receiver: Receiver) -> None:
    client = exporting()
    ticket = serve_and_rate(client, window=1, level=4, link=("330100-2026-000123", "11330100002493612T333011"))
    unbound = serve_and_rate(client, window=1, level=5, source="web")
    key, unbound_key = key_of(client, ticket), key_of(client, unbound)
    until_sync(lambda: {key, unbound_key} <= set(receiver.state.records), timeout=10)
    record = receiver.state.records[key]
    assert record["project_no"] == "330100-2026-000123" and record["item_code"] == "11330100002493612T333011"
    assert record["evaluation_id"] == key
    assert record["level"] == 4 and record["level_label"] == "满意"
    assert record["channel"] == "现场评价器" and record["channel_code"] == "evaluator"
    assert record["window_no"] == 1 and record["window_name"]
    assert record["agency_code"] == AGENCY_CODE and record["agency_name"] == "示范区政务服务中心"
    assert record["ticket_number"] == ticket["number"] and record["evaluated_at"].endswith("+08:00")
    assert record["real_name"] is False and record["masked_id"] is None  # issued without an ID card
    assert set(record) >= {"staff_no", "service_code", "business_day"}
    other = receiver.state.records[unbound_key]
    assert other["project_no"] is None and other["channel"] == "二维码"  # the citizen's phone page


def test_a_bad_rating_uploads_its_reasons_and_text(exporting: Start, receiver: Receiver) -> None:
    client = exporting()
    ticket = serve_and_rate(client, level=2, source="window", reasons=["attitude"], text="等了很久没人理")
    key = key_of(client, ticket)
    until_sync(lambda: key in receiver.state.records, timeout=10)
    record = receiver.state.records[key]
    assert record["level"] == 2 and record["level_label"] == "不满意" and record["channel"] == "平板"
    assert record["reason_codes"] == ["attitude"] and record["reason_labels"] == ["服务态度"]
    assert record["reason_text"] == "等了很久没人理"


def test_history_before_since_stays_local_and_the_key_is_the_rating_uid(exporting: Start,
                                                                       receiver: Receiver) -> None:
    client = exporting(SINCE="2999-01-01")
    serve_and_rate(client)
    exports: ExportService = client.app.state.services.exports  # type: ignore[attr-defined]
    assert client.portal.call(exports.enqueue) == 0  # type: ignore[union-attr]
    assert status(client)["exports"] == [] and receiver.state.records == {}

    exports.settings.since = None  # the hall sets the upload up for its whole history
    ticket = serve_and_rate(client)
    until_sync(lambda: len(receiver.state.records) == 2, timeout=10)
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.store.engine.connect() as conn:
        uid = conn.execute(select(ratings.c.uid).where(ratings.c.ticket_id == ticket["id"])).scalar_one()
    assert uid and key_of(client, ticket) == uid and receiver.state.records[uid]["evaluation_id"] == uid


def test_senders_of_several_workers_on_postgresql_send_each_once(exporting: Start, receiver: Receiver,
                                                                 postgres_db_url: str) -> None:
    """Three senders (the app's own loop and two more, as other workers would run) on one PostgreSQL database."""
    receiver.state.offline = True  # let a backlog build up first, so all three find the same due records
    client = exporting(database_url=postgres_db_url, BACKOFF_MAX_S="0.05")
    services = client.app.state.services  # type: ignore[attr-defined]
    tickets = [serve_and_rate(client, window=1 + n % 2) for n in range(12)]
    settings = ExportSettings(url=receiver.url, secret=SECRET, agency_code=AGENCY_CODE, batch=4,
                              backoff_base_s=0.05, backoff_max_s=0.05)
    senders = [ExportService(settings, services.config, services.store, services.hall, GenericAdapter(settings))
               for _ in range(2)]
    for sender in senders:
        client.portal.call(sender.start)  # type: ignore[union-attr]
    until_sync(lambda: status(client)["backlog"] == 12 and status(client)["counts"]["failed"] > 0, timeout=15)
    receiver.state.offline = False
    until_sync(lambda: status(client)["counts"]["sent"] == 12, timeout=20)
    for sender in senders:
        client.portal.call(sender.stop)  # type: ignore[union-attr]
    assert dict(receiver.state.deliveries) == {key_of(client, t): 1 for t in tickets}
    assert receiver.state.bad_signatures == 0
