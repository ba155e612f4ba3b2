"""A hall with real opening hours, a lunch break, a holiday and a 调休 Saturday, taking bookings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config import HallConfig
from tests.support import make_app

TZ = dt.timezone(dt.timedelta(hours=8))
# Tuesday 2026-12-01 10:00 in Shanghai
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
WEDNESDAY = dt.date(2026, 12, 2)
HOLIDAY = dt.date(2026, 12, 3)  # the hall's own holiday (a Thursday)
MAKEUP = dt.date(2026, 12, 5)  # 调休: a Saturday that is a working day
SUNDAY = dt.date(2026, 12, 6)
# valid GB 11643 numbers (check digits computed by drivers/idcard/card.py check_digit)
ID_A = "11010519491231002X"
ID_B = "440524188001010014"


@dataclass
class Clock:
    """The store's clock, moved by the test."""

    now: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.now.astimezone(dt.UTC)


def booking_config(demo_config: HallConfig, tmp_path: Path, **appointments: Any) -> HallConfig:
    """The demo hall with weekday hours 9–17, lunch 12:00–13:30, a holiday, a 调休 Saturday, and bookings."""
    raw = demo_config.model_dump()
    raw["hall"].update(always_open=False, holidays=[HOLIDAY], extra_workdays=[MAKEUP],
                       opening_hours=[{"days": [1, 2, 3, 4, 5], "open": dt.time(9), "close": dt.time(17)}],
                       lunch_break={"start": dt.time(12), "end": dt.time(13, 30)})
    if "holiday_source" in raw["hall"]:
        raw["hall"]["holiday_source"] = "none"  # only the hall's own list: the test controls every date
    raw["server"]["secret_path"] = str(tmp_path / "secret.key")
    raw["appointments"] = {
        "services": [{"code": "general", "remote": True}, {"code": "estate", "capacity": 1, "slot_minutes": 60}],
        "slot_minutes": 30, "walk_in_share": 0.5, "horizon_days": 7, **appointments,
    }
    return HallConfig.model_validate(raw)


@pytest.fixture
def clock() -> Clock:
    """The test's clock."""
    return Clock()


@pytest.fixture
def config(demo_config: HallConfig, tmp_path: Path) -> HallConfig:
    """The booking hall."""
    return booking_config(demo_config, tmp_path)


@pytest.fixture
def client(config: HallConfig, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    """The production app on the booking hall, its store on the test's clock."""
    app = make_app(tmp_path, config, demo=True)
    with TestClient(app) as c:
        c.app.state.services.store.clock = clock  # type: ignore[attr-defined]
        yield c
