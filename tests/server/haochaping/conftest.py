"""The production app with the 好差评 sender pointed at a test receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.haochaping.receiver import Receiver
from tests.server.haochaping.flows import AGENCY_CODE, SECRET
from tests.support import demo_bearer, make_app


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A signature-checking receiver on a free port."""
    with Receiver(SECRET.encode()) as r:
        yield r


@pytest.fixture
def exporting(tmp_path: Path, hall_config: Any, receiver: Receiver,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., TestClient]]:
    """Start the app (``hallq serve``'s wiring) uploading to ``receiver``; env overrides as keyword args."""
    clients: list[Any] = []

    def start(database_url: str | None = None, **env: str) -> TestClient:
        values = {"URL": receiver.url, "SECRET": SECRET, "POLL_S": "0.05", "BACKOFF_BASE_S": "0.05",
                  "BACKOFF_MAX_S": "0.2", "AGENCY_CODE": AGENCY_CODE, "AGENCY_NAME": "示范区政务服务中心"}
        for key, value in {**values, **env}.items():
            monkeypatch.setenv(f"HALLQ_HAOCHAPING_{key}", value)
        settings = {"database_url": database_url} if database_url else {}
        manager = TestClient(make_app(tmp_path, hall_config, **settings), raise_server_exceptions=False)
        client = manager.__enter__()
        clients.append(manager)
        client.headers.update(demo_bearer(client, "admin"))
        return client

    yield start
    for manager in clients:
        manager.__exit__(None, None, None)
