"""Security tests: the production app (``create_app`` as ``hallq serve`` builds it), in process or on a real port.

``live`` runs the app under uvicorn in a thread with exactly the options ``hallq serve`` passes
(``server.auth.serving.uvicorn_options``), so transport limits (header timeouts, connection
caps, websocket frame size, proxy headers) are tested as deployed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from server.auth.service import AuthSettings
from server.auth.serving import GuardedHttpProtocol, uvicorn_options
from server.config import HallConfig
from tests.support import make_app
from tests.support.serving import free_port  # below the ephemeral range


def config_in(tmp_path: Path, demo_config: HallConfig) -> HallConfig:
    """The demo config with its secret file under ``tmp_path`` and no devices (no simulators to start)."""
    server = demo_config.server.model_copy(update={"secret_path": str(tmp_path / "secret.key")})
    return demo_config.model_copy(update={"server": server, "devices": []})


@pytest.fixture
def app(tmp_path: Path, demo_config: HallConfig) -> Any:
    """The production app on a fresh SQLite file with the demo accounts."""
    return make_app(tmp_path, config_in(tmp_path, demo_config))


def _no_sleep(app: Any) -> None:
    async def no_sleep(_: float) -> None:
        return None

    app.state.services.auth.sleep = no_sleep


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A started app with the demo accounts; sign-in slowdowns are skipped."""
    with TestClient(app, raise_server_exceptions=False) as c:
        _no_sleep(app)
        yield c


def sign_in(client: Any, username: str, password: str | None = None, window: int | None = None) -> dict[str, str]:
    """An Authorization header for an account (``password`` defaults to ``<username>-demo``)."""
    data = {"username": username, "password": password or f"{username}-demo"}
    if window is not None:
        data["scope"] = f"window:{window}"
    r = client.post("/api/auth/token", data=data)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def bearer(client: TestClient) -> Callable[..., dict[str, str]]:
    """``bearer("clerk1", window=1)`` → an Authorization header of a demo account."""
    return lambda username, password=None, window=None: sign_in(client, username, password, window)


DEVICE = {
    "kiosk": {"Authorization": "Bearer hqd_demo-kiosk-k1"},
    "display": {"Authorization": "Bearer hqd_demo-display-hall"},
    "display_w1": {"Authorization": "Bearer hqd_demo-display-w1"},
    "device": {"Authorization": "Bearer hqd_demo-device-host"},
}


@dataclass
class Live:
    """A running server: its base URL, app and uvicorn server."""

    url: str
    port: int
    app: Any
    server: uvicorn.Server

    @property
    def ws_url(self) -> str:
        """The websocket endpoint."""
        return self.url.replace("http://", "ws://") + "/ws"


@contextlib.contextmanager
def serve(app: Any, settings: AuthSettings | None = None) -> Iterator[Live]:
    """Run ``app`` on a free port with ``hallq serve``'s uvicorn options (``settings``: the transport limits)."""
    port = free_port()
    options = uvicorn_options(settings or AuthSettings())
    GuardedHttpProtocol.settings = settings
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    _no_sleep(app)
    try:
        yield Live(f"http://127.0.0.1:{port}", port, app, server)
    finally:
        server.should_exit = True
        thread.join(15)
        GuardedHttpProtocol.settings = None


@pytest.fixture
def live(app: Any) -> Iterator[Live]:
    """The production app on a real port (default transport limits)."""
    with serve(app) as running:
        yield running


def live_token(live: Live, username: str, password: str | None = None, window: int | None = None) -> dict[str, str]:
    """Sign in against a live server."""
    with httpx.Client(base_url=live.url, timeout=10) as c:
        return sign_in(c, username, password, window)
