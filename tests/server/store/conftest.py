"""Store fixtures: a small hall, a controllable clock, a store on a real SQLite file.

PostgreSQL comes from ``postgres_db_url`` in tests/conftest.py (a throwaway server from
Debian's /usr/lib/postgresql/*/bin, run as an unprivileged user; skipped only when the
binaries are missing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.config import HallConfig, parse_config
from server.store import QueueStore

HALL = """\
hall:
  name: 测试中心
  always_open: true
services:
  - {code: a, name: 综合, prefix: A, sla_minutes: 30, expected_minutes: 10}
  - {code: b, name: 社保, prefix: B, sla_minutes: 20, daily_limit: 50, per_person_daily: 2}
  - {code: c, name: 税务, prefix: C, number_start: 1, number_end: 999, sla_minutes: 60}
windows:
  - {number: 1, services: [a, {code: b, role: secondary}]}
  - {number: 2, services: [b, {code: a, role: secondary}]}
  - {number: 3, services: [a, b, c]}
policy:
  priority_interleave: 2
  sla_promotion: true
  max_recalls: 2
  callback_minutes: 30
  elderly_age: 65
"""

START = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai, a Friday


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def hall_config(text: str = HALL, **replace: str) -> HallConfig:
    """The test hall, with textual replacements."""
    for old, new in replace.items():
        text = text.replace(old, new)
    return parse_config(text)


@pytest.fixture
def make_config() -> Callable[..., HallConfig]:
    """``make_config(**{old: new})``: the test hall with textual replacements."""
    return hall_config


@pytest.fixture
def make_store(db_url: str, clock: Clock) -> Iterator[Callable[..., QueueStore]]:
    """``make_store(config, url=None)``: more stores (other configs, or a restart on the same file)."""
    made: list[QueueStore] = []

    def make(config: HallConfig, url: str | None = None) -> QueueStore:
        s = QueueStore(url or db_url, config, clock=clock)
        s.migrate()
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def clock() -> Clock:
    """A controllable clock at Friday 10:00 Shanghai time."""
    return Clock()


@pytest.fixture
def config() -> HallConfig:
    """The small test hall."""
    return hall_config()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file in the test's tmp dir, or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_db_url"))
    return f"sqlite:///{tmp_path / 'hallq.db'}"


@pytest.fixture
def store(db_url: str, config: HallConfig, clock: Clock) -> Iterator[QueueStore]:
    """A migrated store on a real SQLite file."""
    s = QueueStore(db_url, config, clock=clock)
    s.migrate()
    yield s
    s.close()
