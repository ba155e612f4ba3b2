"""Fixtures of the kiosk feature: the real store on a SQLite file, the queue facade and KioskService."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from server.config import HallConfig
from server.hall.hub import Hub
from server.hall.service import HallService
from server.installation import identity_key, key_hash
from server.kiosk.service import KioskService, KioskSettings
from server.queue.events import Event
from server.store import QueueStore

SECRET = b"s" * 32
# a weekday morning inside the demo hall's opening hours (Asia/Shanghai)
NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)


@dataclass
class Clock:
    """A store clock the test moves."""

    now: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class Rig:
    """One worker's view of the hall: store, facade, hub and kiosk service (plus every event it published)."""

    config: HallConfig
    store: QueueStore
    hub: Hub
    hall: HallService
    kiosks: KioskService
    clock: Clock
    sub: Any = None
    seen: list[Event] = field(default_factory=list)

    def events(self) -> list[Event]:
        """Every event published so far (drains the subscription)."""
        while self.sub is not None and not self.sub.queue.empty():
            item = self.sub.queue.get_nowait()
            if isinstance(item, Event):
                self.seen.append(item)
        return self.seen

    def types(self) -> list[str]:
        """The types of the identity events published so far."""
        return [e.type.value for e in self.events() if e.type.value.startswith("identity.")]


async def open_rig(config: HallConfig, db: Path, clock: Clock | None = None, **settings: Any) -> Rig:
    """Start a store, facade and KioskService on ``db`` (several rigs on one file = several workers)."""
    clock = clock or Clock()
    store = QueueStore(f"sqlite:///{db}", config, clock=clock)
    store.migrate()
    hub = Hub()
    hall = HallService(store, hub, poll_seconds=0.05, inline_writes=True)
    await hall.startup()
    key = identity_key(SECRET)
    kiosks = KioskService(config, store, hall, lambda number: key_hash(number, key), KioskSettings(**settings))
    rig = Rig(config, store, hub, hall, kiosks, clock)
    rig.sub = hub.subscribe(["*"], 10_000)
    return rig


async def close_rig(rig: Rig) -> None:
    """Stop what ``open_rig`` started."""
    await rig.kiosks.stop()
    await rig.hub.stop()
    await rig.hall.shutdown()
    rig.store.close()


def hall_config(demo_config: HallConfig, tmp_path: Path, **changes: Any) -> HallConfig:
    """The demo hall with one general ticket per person a day, two in all, and a secret under tmp_path."""
    raw = demo_config.model_dump()
    for service in raw["services"]:
        if service["code"] == "general":
            service["per_person_daily"] = 1
    raw["policy"]["per_person_daily_total"] = 2
    raw["server"]["secret_path"] = str(tmp_path / "secret.key")
    for key, value in changes.items():
        raw[key] = value if not isinstance(value, dict) else {**raw.get(key, {}), **value}
    return HallConfig.model_validate(raw)


@pytest.fixture
def config(demo_config: HallConfig, tmp_path: Path) -> HallConfig:
    """The kiosk tests' hall."""
    return hall_config(demo_config, tmp_path)


@pytest.fixture
async def rig(config: HallConfig, tmp_path: Path) -> AsyncIterator[Rig]:
    """One worker on ``tmp_path/hall.db``."""
    r = await open_rig(config, tmp_path / "hall.db")
    yield r
    await close_rig(r)
