"""Waiting for a condition instead of sleeping: ``await until(lambda: printer.jobs)``."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

INTERVAL = 0.01


async def until(predicate: Callable[[], object | Awaitable[object]], timeout: float = 5.0,
                message: str = "") -> object:
    """Poll ``predicate`` (sync or async) until it is truthy; return its value, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout} s: {predicate!r}")
        await asyncio.sleep(INTERVAL)


def until_sync(predicate: Callable[[], object], timeout: float = 5.0, message: str = "") -> object:
    """``until`` for synchronous tests (a TestClient's thread does the work meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout} s: {predicate!r}")
        time.sleep(INTERVAL)
