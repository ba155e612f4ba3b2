"""The real app (demo hall) on a fresh SQLite file, with the demo accounts and device tokens seeded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app, open_store
from server.auth import install, seed_demo_accounts
from server.config import HallConfig
from server.settings import Settings


def config_in(tmp_path: Path, demo_config: HallConfig) -> HallConfig:
    """The demo config with its secret file under ``tmp_path`` and no devices (no simulators to start)."""
    server = demo_config.server.model_copy(update={"secret_path": str(tmp_path / "secret.key")})
    return demo_config.model_copy(update={"server": server, "devices": []})


@pytest.fixture
def app(tmp_path: Path, demo_config: HallConfig) -> Any:
    """create_app with auth installed (a no-op once the lead wires it in create_app)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hall.db'}", event_poll_seconds=0)

    def store_factory(url: str, config: HallConfig) -> Any:
        store = open_store(url, config)
        seed_demo_accounts(store, config)  # before start-up: no first-admin password then
        return store

    application = create_app(settings, config=config_in(tmp_path, demo_config), store_factory=store_factory)
    install(application)
    return application


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A started app with the demo accounts; sign-in slowdowns are skipped."""
    with TestClient(app, raise_server_exceptions=False) as c:
        async def no_sleep(_: float) -> None:
            return None

        app.state.auth.sleep = no_sleep
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
