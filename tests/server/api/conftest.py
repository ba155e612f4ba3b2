"""An app on a real SQLite file per test, driven through Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import demo_bearer, make_app


@pytest.fixture
def client(tmp_path: Path, hall_config: Any) -> Iterator[TestClient]:
    """A started app (demo hall config) on a fresh SQLite database."""
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers.update(demo_bearer(c, "admin"))  # the demo admin; ratings use DEMO_DEVICE_HOST
        yield c
