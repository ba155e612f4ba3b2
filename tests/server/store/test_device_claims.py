"""Device claims and health rows (server/store/devices.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from server.queue.events import EventType
from server.store.devices import DeviceClaimed

STALE_MS = 15_000


def test_a_live_claim_refuses_another_host_and_names_it(make_store: Any, config: Any) -> None:
    store = make_store(config)
    store.claim_devices("device:host/a", "box-a (pid 1)", ["printer-k1", "reader-k1"], stale_ms=STALE_MS)
    with pytest.raises(DeviceClaimed) as refused:
        store.claim_devices("device:host/b", "box-b", ["reader-k1", "led-1"], stale_ms=STALE_MS)
    assert refused.value.status == 409 and refused.value.code == "device_claimed"
    assert "box-a (pid 1)" in refused.value.en and "reader-k1" in refused.value.en
    assert refused.value.extra["host"] == "device:host/a"
    # all or nothing: the refused host got none of its devices
    assert {c.device_id: c.host for c in store.device_claims()} == {
        "printer-k1": "device:host/a", "reader-k1": "device:host/a"}
    # the same host may claim again (a restart of its device manager)
    store.claim_devices("device:host/a", "box-a (pid 1)", ["printer-k1", "reader-k1"], stale_ms=STALE_MS)


def test_a_silent_host_loses_its_claims_and_heartbeats_keep_them(make_store: Any, config: Any, clock: Any) -> None:
    store = make_store(config)
    store.claim_devices("a", "box-a", ["printer-k1"], stale_ms=STALE_MS)
    clock.advance(seconds=10)
    assert store.heartbeat("a") == 1
    clock.advance(seconds=10)  # 20 s after the claim, 10 s after the beat: still live
    with pytest.raises(DeviceClaimed):
        store.claim_devices("b", "box-b", ["printer-k1"], stale_ms=STALE_MS)
    clock.advance(seconds=6)  # 16 s without a beat: stale
    store.claim_devices("b", "box-b", ["printer-k1"], stale_ms=STALE_MS)
    assert store.heartbeat("a") == 0  # a learns it lost the device
    assert [(c.device_id, c.host) for c in store.device_claims()] == [("printer-k1", "b")]
    store.release_devices("b")
    assert store.device_claims() == []


def test_health_rows_are_stored_and_emitted_on_the_devices_topic(make_store: Any, config: Any) -> None:
    store = make_store(config)
    entry = {"id": "printer-k1", "kind": "ticket_printer", "health": {"state": "ready", "available": True}}
    outcome = store.set_device_status("printer-k1", entry)
    [event] = outcome.events
    assert event.type is EventType.DEVICE_HEALTH and event.topics == ("devices",) and event.seq
    assert event.data == {"device": entry}
    store.set_device_status("printer-k1", {**entry, "health": {"state": "fault", "available": False}})
    statuses = store.device_statuses()
    assert statuses["printer-k1"][0]["health"]["state"] == "fault"
    # a host's ephemeral event goes through the log, so every worker's poller sends it
    [logged] = store.record_event(EventType.IDENTITY_SESSION, ("kiosk:k1",), {"session": None}).events
    assert [e.seq for e in store.last_events(event.seq, 10)][-1] == logged.seq
