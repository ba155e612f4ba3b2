"""Hall snapshot, health, metrics, OpenAPI and the no-500 rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings


def test_hall_snapshot_lists_services_and_windows(client: TestClient) -> None:
    client.post("/api/tickets", json={"service": "general"})
    hall = client.get("/api/hall").json()
    assert hall["hall"]["name"]
    general = next(s for s in hall["services"] if s["code"] == "general")
    assert general["waiting"] == 1 and general["prefix"] == "A"
    assert {w["number"] for w in hall["windows"]} >= {1, 2, 3}


def test_healthz_and_metrics(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] is True
    client.post("/api/windows/1/open")
    client.post("/api/tickets", json={"service": "general"})
    client.post("/api/tickets", json={"service": "general"})
    client.post("/api/windows/1/call-next")
    text = client.get("/metrics").text
    assert 'hallq_tickets_issued_total{service="general"} 2.0' in text
    assert 'hallq_tickets_called_total{service="general"} 1.0' in text
    assert 'hallq_waiting{service="general"} 1.0' in text
    assert 'route="/api/windows/{number}/call-next"' in text


def test_openapi_documents_every_endpoint_and_problem(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for action in ("open", "close", "pause", "resume", "call-next", "recall", "start", "finish", "no-show",
                   "suspend", "transfer", "call", "request-rating"):
        assert f"/api/windows/{{number}}/{action}" in paths, action
    for path in ("/api/tickets", "/api/tickets/{ticket_id}", "/api/tickets/by-token/{token}",
                 "/api/tickets/{ticket_id}/cancel", "/api/tickets/{ticket_id}/rating", "/api/hall",
                 "/api/windows/{number}", "/api/windows/{number}/waiting", "/healthz", "/metrics"):
        assert path in paths, path
    finish = paths["/api/windows/{number}/finish"]["post"]["responses"]
    assert {"200", "404", "409", "422"} <= set(finish)
    assert "application/problem+json" in finish["409"]["content"]
    assert "204" in paths["/api/windows/{number}/call-next"]["post"]["responses"]
    assert paths["/api/tickets"]["post"]["responses"]["201"]


def test_hostile_input_never_produces_a_500(client: TestClient) -> None:
    bodies: list[bytes] = [b"", b"null", b"[]", b"\xff\xfe", b'{"service": null}',
                           b'{"service": "' + b"a" * 5000 + b'"}',
                           json.dumps({"service": "general", "priority": ["x"]}).encode(), b'{"level": 1e999}',
                           b'{"ticket_id": 1.5}', b'{"to_window": 99999999999999999999}', b"{" * 1000]
    paths = ["/api/tickets", "/api/tickets/1/rating", "/api/tickets/1/cancel", "/api/windows/1/call",
             "/api/windows/1/transfer", "/api/windows/1/pause", "/api/windows/1/open", "/api/windows/-1/open",
             "/api/windows/1%00/open", "/api/tickets/by-token/%2e%2e"]
    for path in paths:
        for body in bodies:
            r = client.post(path, content=body, headers={"content-type": "application/json"})
            assert r.status_code < 500, (path, body[:40], r.status_code, r.text[:200])
            assert r.headers["content-type"].startswith(("application/json", "application/problem+json"))


def test_an_unexpected_error_is_a_logged_problem_not_a_bare_500(
    tmp_path: Path, fake_store_factory: Any, caplog: pytest.LogCaptureFixture, hall_config: Any
) -> None:
    class BrokenStore(fake_store_factory):  # type: ignore[misc, valid-type]
        def snapshot(self) -> Any:
            raise RuntimeError("disk on fire")

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", event_poll_seconds=0)
    with TestClient(
        create_app(settings, config=hall_config, store_factory=BrokenStore), raise_server_exceptions=False
    ) as client:
        r = client.get("/api/hall")
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "internal_error" and body["zh"] and "disk on fire" not in r.text
    assert "disk on fire" in caplog.text


def test_api_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    asset = client.get("/static/swagger/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "hallq"
