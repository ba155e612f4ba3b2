"""Live configuration edge cases: disabling a service with waiting tickets, unchanged imports, masked secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config_live.masking import mask, masked_url, unmask
from tests.support import DEMO_KIOSK_K1, demo_bearer, make_app

SECRET_URL = "postgresql+psycopg://hallq:s3cr3t-pw@db.internal:5432/hallq"


@pytest.fixture
def client(tmp_path: Path, hall_config: Any) -> Iterator[TestClient]:
    """A started app whose configuration names a database URL with a password (the app itself runs on SQLite)."""
    raw = hall_config.model_dump()
    raw["server"]["database_url"] = SECRET_URL
    config = hall_config.model_validate(raw)
    with TestClient(make_app(tmp_path, config), raise_server_exceptions=False) as c:
        c.headers.update(demo_bearer(c, "admin"))
        yield c


def _current(client: TestClient) -> dict[str, Any]:
    r = client.get("/api/config")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _disable(doc: dict[str, Any], code: str) -> dict[str, Any]:
    for s in doc["services"]:
        if s["code"] == code:
            s["enabled"] = False
    return doc


def test_disabling_a_service_with_waiting_tickets_is_refused_or_moves_them(client: TestClient) -> None:
    for _ in range(2):
        assert client.post("/api/tickets", json={"service": "joint"}, headers=DEMO_KIOSK_K1).status_code == 201
    doc = _disable(_current(client)["config"], "joint")
    r = client.patch("/api/config", json={"expected_version": 1, "config": doc})
    assert r.status_code == 409 and r.json()["code"] == "service_has_waiting", r.text
    assert (r.json()["service"], r.json()["waiting"]) == ("joint", 2)
    assert _current(client)["version"] == 1
    # the same with a merge patch naming only the flag
    services = [{**s, "enabled": False} if s["code"] == "joint" else s for s in _current(client)["config"]["services"]]
    r = client.patch("/api/config", json={"expected_version": 1, "patch": {"services": services}})
    assert r.status_code == 409 and r.json()["code"] == "service_has_waiting"
    # a target that is itself being disabled is no target
    both = _disable(_disable(_current(client)["config"], "joint"), "market")
    r = client.patch("/api/config", json={"expected_version": 1, "config": both, "on_waiting": {"joint": "market"}})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "on_waiting.joint"
    r = client.patch("/api/config", json={"expected_version": 1, "config": doc, "on_waiting": {"joint": "market"}})
    assert r.status_code == 200 and r.json()["moved"] == {"joint": 2}, r.text
    market = next(s for s in client.get("/api/hall").json()["services"] if s["code"] == "market")
    assert market["waiting"] == 2


def test_disabling_a_service_without_waiting_tickets_just_applies(client: TestClient) -> None:
    doc = _disable(_current(client)["config"], "joint")
    r = client.patch("/api/config", json={"expected_version": 1, "config": doc})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text


def test_importing_an_unchanged_yaml_stores_no_version(client: TestClient) -> None:
    text = client.get("/api/config.yaml").text
    r = client.put("/api/config.yaml", params={"expected_version": 1}, content=text.encode(),
                   headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["changed"] == 0 and r.json()["unchanged"] is True
    assert [v["version"] for v in client.get("/api/config/versions").json()] == [1]
    changed = text.replace("name: 示范区政务服务中心", "name: 示范区政务服务中心（东区）", 1)
    assert changed != text
    r = client.put("/api/config.yaml", params={"expected_version": 1}, content=changed.encode(),
                   headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["changed"] >= 1, r.text


def test_the_database_password_never_leaves_and_survives_a_round_trip(client: TestClient) -> None:
    live = _current(client)
    assert "s3cr3t-pw" not in str(live) and live["config"]["server"]["database_url"] == masked_url(SECRET_URL)
    assert "***" in live["config"]["server"]["database_url"]
    text = client.get("/api/config.yaml").text
    assert "s3cr3t-pw" not in text and "***" in text
    assert "s3cr3t-pw" not in client.get("/api/config/versions/1").text
    # the admin page saves the whole (masked) document back: the stored password is kept
    doc = live["config"]
    doc["bulletin"]["supervision_phone"] = "0571-12345"
    r = client.patch("/api/config", json={"expected_version": 1, "config": doc})
    assert r.status_code == 200 and "s3cr3t-pw" not in r.text, r.text
    assert client.app.state.services.config.server.database_url == SECRET_URL  # type: ignore[attr-defined]
    # an exported (masked) YAML imported again keeps it too, and stores nothing new
    again = client.put("/api/config.yaml", params={"expected_version": 2}, content=client.get("/api/config.yaml")
                       .text.encode(), headers={"Content-Type": "application/yaml"})
    assert again.status_code == 200 and again.json()["version"] == 2, again.text
    assert client.app.state.services.config.server.database_url == SECRET_URL  # type: ignore[attr-defined]


def test_masking_rules() -> None:
    assert masked_url("sqlite:///var/hallq.db") == "sqlite:///var/hallq.db"
    assert masked_url("not a url") == "not a url"
    doc = {"server": {"database_url": SECRET_URL}}
    shown = mask(doc)
    assert "s3cr3t-pw" not in str(shown) and doc["server"]["database_url"] == SECRET_URL  # a copy
    assert unmask(shown, doc) == doc
    other = {"server": {"database_url": "postgresql://hallq:new@db/hallq"}}  # a new password typed in: kept
    assert unmask(other, doc) == other
