"""The real app (demo hall) on a fresh SQLite file, with the demo accounts and device tokens seeded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config import HallConfig
from tests.support import make_app


def config_in(tmp_path: Path, demo_config: HallConfig) -> HallConfig:
    """The demo config with its secret file under ``tmp_path`` and no devices (no simulators to start)."""
    server = demo_config.server.model_copy(update={"secret_path": str(tmp_path / "secret.key")})
    return demo_config.model_copy(update={"server": server, "devices": []})


@pytest.fixture
def app(tmp_path: Path, demo_config: HallConfig) -> Any:
    """The production app on a fresh SQLite file with the demo accounts."""
    return make_app(tmp_path, config_in(tmp_path, demo_config))


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A started app with the demo accounts; sign-in slowdowns are skipped."""
    with TestClient(app, raise_server_exceptions=False) as c:
        async def no_sleep(_: float) -> None:
            return None

        app.state.services.auth.sleep = no_sleep
        yield c


@pytest.fixture
def bearer(client: TestClient) -> Callable[..., dict[str, str]]:
    """``bearer("clerk1", "clerk1-demo", window=1)`` → an Authorization header."""

    def make(username: str, password: str, window: int | None = None) -> dict[str, str]:
        data = {"username": username, "password": password}
        if window is not None:
            data["scope"] = f"window:{window}"
        r = client.post("/api/auth/token", data=data)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


DEVICE = {
    "kiosk": {"Authorization": "Bearer hqd_demo-kiosk-k1"},
    "display": {"Authorization": "Bearer hqd_demo-display-hall"},
    "display_w1": {"Authorization": "Bearer hqd_demo-display-w1"},
    "device": {"Authorization": "Bearer hqd_demo-device-host"},
}
