"""The production app (``server.app.create_app``) on a real SQLite file, with the demo accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from server.app import Hook, create_app, open_store
from server.auth import seed_demo_accounts
from server.config import HallConfig
from server.settings import Settings


def seeding_store_factory(url: str, config: Any) -> Any:
    """``create_app(store_factory=…)``: the real store, migrated, with the demo accounts seeded."""
    store = open_store(url, config)
    seed_demo_accounts(store, config)  # before start-up: no first-admin password printed then
    return store


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: a fresh SQLite file under ``tmp_path``, no event polling."""
    values: dict[str, Any] = {"database_url": f"sqlite:///{tmp_path / 'hall.db'}", "event_poll_seconds": 0}
    return Settings(**{**values, **overrides})


def make_app(tmp_path: Path, config: HallConfig, *, store_factory: Any = seeding_store_factory,
             on_startup: list[Hook] | None = None, on_shutdown: list[Hook] | None = None,
             **settings: Any) -> FastAPI:
    """``create_app`` exactly as ``hallq serve`` builds it, on ``tmp_path/hall.db`` with demo accounts."""
    return create_app(settings_for(tmp_path, **settings), config=config, store_factory=store_factory,
                      on_startup=on_startup or [], on_shutdown=on_shutdown or [])
