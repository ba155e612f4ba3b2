"""An app on a real SQLite file per test, driven through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.auth.testing import demo_bearer, seeding_store_factory
from server.settings import Settings


@pytest.fixture
def client(tmp_path: Path, hall_config: Any) -> Iterator[TestClient]:
    """A started app (demo hall config) on a fresh SQLite database."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hall.db'}", event_poll_seconds=0)
    app = create_app(settings, config=hall_config, store_factory=seeding_store_factory)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers.update(demo_bearer(c, "admin"))  # the demo admin; ratings use DEMO_DEVICE_HOST
        yield c
