"""An abandoned tap (idle reset or 取消 before the answer) is settled by one rule (server/kiosk/reconcile.py).

Printed → kept (the paper exists); issued but not printed → cancelled by the kiosk (nobody holds
it); never issued → none; already moving → handled. Never a second ticket for the same key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.config import HallConfig
from server.store.tables import tickets
from tests.server.kiosk.conftest import hall_config
from tests.server.kiosk.test_issue import K2, count, devices
from tests.support import DEMO_KIOSK_K1, make_app


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    """The production app: a simulated printer at k1, an offline one at k2."""
    app = make_app(tmp_path, hall_config(demo_config, tmp_path, devices=devices()), demo=True)
    with TestClient(app) as c:
        yield c


def tap(client: TestClient, kiosk: str, headers: dict[str, str], key: str) -> dict[str, object]:
    r = client.post(f"/api/kiosks/{kiosk}/tickets", json={"service": "general"},
                    headers={**headers, "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return dict(r.json())


def settle(client: TestClient, kiosk: str, headers: dict[str, str], key: str) -> dict[str, object]:
    r = client.post(f"/api/kiosks/{kiosk}/requests/{key}/reconcile", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_an_unknown_key_was_never_issued(client: TestClient) -> None:
    assert settle(client, "k1", DEMO_KIOSK_K1, "tap-never-sent") == {"outcome": "none", "ticket": None}


def test_a_printed_ticket_is_kept(client: TestClient) -> None:
    first = tap(client, "k1", DEMO_KIOSK_K1, "tap-printed-01")
    assert first["print"]["printed"] is True  # type: ignore[index]
    body = settle(client, "k1", DEMO_KIOSK_K1, "tap-printed-01")
    assert body["outcome"] == "printed" and body["ticket"]["number"] == first["number"]  # type: ignore[index]
    assert count(client, (tickets.c.id == first["id"]) & (tickets.c.state == "issued")) == 1


def test_an_unprinted_ticket_nobody_saw_is_cancelled_once_and_never_doubled(client: TestClient) -> None:
    first = tap(client, "k2", K2, "tap-unprinted-1")  # k2's printer is offline: no paper
    assert first["print"]["printed"] is False  # type: ignore[index]
    body = settle(client, "k2", K2, "tap-unprinted-1")
    assert body["outcome"] == "cancelled" and body["ticket"]["id"] == first["id"]  # type: ignore[index]
    assert count(client, (tickets.c.id == first["id"]) & (tickets.c.state == "cancelled")) == 1
    # asked again (a second home screen): nothing more happens
    assert settle(client, "k2", K2, "tap-unprinted-1")["outcome"] == "handled"
    # the same key again replays the same (cancelled) ticket: never a second one
    again = tap(client, "k2", K2, "tap-unprinted-1")
    assert again["id"] == first["id"] and again["replayed"] is True
    assert count(client, tickets.c.service == "general") == 1


def test_a_kiosk_settles_only_its_own_taps(client: TestClient) -> None:
    tap(client, "k2", K2, "tap-other-0001")
    r = client.post("/api/kiosks/k2/requests/tap-other-0001/reconcile", headers=DEMO_KIOSK_K1)
    assert r.status_code == 403
    # k1 asking about k2's key under its own id finds nothing: keys are per kiosk
    assert settle(client, "k1", DEMO_KIOSK_K1, "tap-other-0001")["outcome"] == "none"
    bad = client.post("/api/kiosks/k1/requests/bad%20key!/reconcile", headers=DEMO_KIOSK_K1)
    assert bad.status_code == 422
