"""An app on a real SQLite file per test, driven through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A started app (demo hall config) on a fresh SQLite database."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hall.db'}", event_poll_seconds=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c
