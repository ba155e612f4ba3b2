"""Fixtures for the device manager: the demo hall with simulated printers, a fake queue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.config import HallConfig
from server.devices.manager import DeviceManager
from tests.support import until

FAST = {"poll_interval": 0.05, "status_timeout": 0.3, "reconnect_max": 0.3}
PRINTERS: list[dict[str, Any]] = [
    {"id": "printer-k1", "kind": "ticket_printer", "driver": "escpos", "url": "sim", "kiosk": "k1",
     "options": {"encoding": "gb18030", "paper_mm": 80, **FAST}},
    {"id": "printer-k2", "kind": "ticket_printer", "driver": "escpos", "url": "sim:pty", "kiosk": "k2",
     "options": {"encoding": "gbk", "paper_mm": 58, "qr": "raster", "chinese_mode_cmd": True, **FAST}},
]


def hall_with(demo_config: HallConfig, devices: list[dict[str, Any]]) -> HallConfig:
    """The demo hall with these device entries."""
    return HallConfig.model_validate({**demo_config.model_dump(), "devices": devices})


@pytest.fixture
def published() -> list[tuple[str, tuple[str, ...], dict[str, Any]]]:
    """Events the manager published."""
    return []


@pytest.fixture
async def manager(
    demo_config: HallConfig, published: list[tuple[str, tuple[str, ...], dict[str, Any]]]
) -> AsyncIterator[DeviceManager]:
    """A started demo-mode manager with two simulated printers (k1 over TCP, k2 over a pty)."""
    m = DeviceManager(hall_with(demo_config, PRINTERS), None, lambda *a: published.append(a), demo=True,
                      public_base_url="http://hall.example:8000")
    await m.start()
    try:
        await until(lambda: all(e["health"]["available"] for e in m.snapshot()["devices"]))
        yield m
    finally:
        await m.stop()


@pytest.fixture(name="hall_with")
def hall_with_fixture() -> Callable[[HallConfig, list[dict[str, Any]]], HallConfig]:
    """``hall_with(demo_config, devices)`` for tests (conftest is not importable in importlib mode)."""
    return hall_with


@pytest.fixture(name="until")
def until_fixture() -> Callable[..., Any]:
    """``await until(predicate, timeout)``."""
    return until


@pytest.fixture
def printer_entries() -> list[dict[str, Any]]:
    """The two simulated printer entries (copies)."""
    return [dict(p) for p in PRINTERS]
