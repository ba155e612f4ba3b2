"""The production app for the clerk console's rules: demo hall, real SQLite file, a clock the test moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config import HallConfig
from tests.support import demo_bearer, make_app

# Friday 27 November 2026, 11:40 in Asia/Shanghai: a workday, 20 minutes before the 12:00–13:30 lunch
BEFORE_LUNCH = dt.datetime(2026, 11, 27, 3, 40, tzinfo=dt.UTC)


@dataclass
class Clock:
    """The store's clock, moved by the test."""

    now: dt.datetime = BEFORE_LUNCH

    def __call__(self) -> dt.datetime:
        return self.now

    def to_local(self, hh: int, mm: int) -> None:
        """Move to hh:mm the same day in the hall's zone (UTC+8)."""
        self.now = dt.datetime(2026, 11, 27, hh - 8, mm, tzinfo=dt.UTC)


def with_hours(config: HallConfig) -> HallConfig:
    """The demo hall keeping its real hours (09:00–17:00, lunch 12:00–13:30) instead of always open."""
    raw = config.model_dump()
    raw["hall"]["always_open"] = False
    return HallConfig.model_validate(raw)


@pytest.fixture
def clock() -> Clock:
    """A clock at 11:40 on a workday."""
    return Clock()


@pytest.fixture
def client(tmp_path: Path, hall_config: HallConfig, clock: Clock) -> Iterator[TestClient]:
    """The app with opening hours and lunch, its store on ``clock``; signed in as the demo admin."""
    app = make_app(tmp_path, with_hours(hall_config))
    with TestClient(app, raise_server_exceptions=False) as c:
        c.app.state.services.store.clock = clock  # type: ignore[attr-defined]
        c.headers.update(demo_bearer(c, "admin"))
        yield c


def ok(r: Any, status: int = 200) -> Any:
    """The JSON answer, asserting its status."""
    assert r.status_code == status, r.text
    return r.json() if r.content else None
