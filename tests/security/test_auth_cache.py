"""§1 (High): made-up credentials must not grow the auth cache (or the process).

The review sent 300 anonymous requests with a 1 MB ``Bearer hqd_…`` token: each was cached
under its full text (596 → 880 MB, never released). Now over-long credentials are refused
before any lookup, unknown ones are not remembered, and the cache is bounded by bytes.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.auth.cache import CACHE_SECONDS, ShortCache
from server.auth.service import MAX_DEVICE_TOKEN, credential_ok

MB = 1_000_000


def rss_bytes() -> int:
    """This process's resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_rss_stays_flat_under_300_oversized_tokens(client: TestClient, app: Any) -> None:
    auth = app.state.services.auth
    for i in range(5):  # warm up allocator and routes
        client.get("/api/auth/me", headers={"Authorization": f"Bearer hqd_{i:06d}" + "B" * MB})
    gc.collect()
    before = rss_bytes()
    statuses = set()
    for i in range(300):
        r = client.get("/api/auth/me", headers={"Authorization": f"Bearer hqd_{i:06d}" + "B" * MB})
        statuses.add(r.status_code)
    for i in range(150):
        r = client.get("/api/auth/me", cookies={"hallq_session": f"{i:06d}" + "S" * MB})
        statuses.add(r.status_code)
    gc.collect()
    grown = rss_bytes() - before
    assert statuses == {401}
    assert grown < 100 * MB, f"RSS grew by {grown / MB:.0f} MB under 450 oversized credentials"
    assert auth._cache.size_bytes < 1 * MB


def test_unknown_well_formed_credentials_are_not_remembered(client: TestClient, app: Any) -> None:
    auth = app.state.services.auth
    before = len(auth._cache)
    for i in range(200):
        assert client.get("/api/auth/me", headers={"Authorization": f"Bearer hqd_{i:040d}"}).status_code == 401
        assert client.get("/api/auth/me", cookies={"hallq_session": f"{i:043d}"}).status_code == 401
    assert len(auth._cache) <= before
    # a real one is remembered (so the cache still does its job)
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer hqd_demo-kiosk-k1"}).status_code == 200
    assert len(auth._cache) == before + 1


def test_length_bound_before_lookup() -> None:
    assert credential_ok("hqd_" + "a" * 43, session=False)
    assert not credential_ok("hqd_" + "a" * MAX_DEVICE_TOKEN, session=False)
    assert not credential_ok("hqa." + "a" * 5000, session=False)
    assert not credential_ok("x" * 65, session=True)
    assert not credential_ok("anything-else", session=False)


def test_short_cache_is_bounded_by_entries_and_bytes_and_drops_stale_entries() -> None:
    cache = ShortCache(max_entries=100, max_bytes=64 * 1024)
    for i in range(1000):
        cache.put(f"k{i}", 0.0, "v" * 100, cache.generation)
    assert len(cache) <= 100 and cache.size_bytes <= 64 * 1024
    cache.put("big", 0.0, "x" * 40_000, cache.generation)  # a quarter of the budget or more: never kept
    assert cache.get("big", 0.0) is None
    cache.put("fresh", CACHE_SECONDS + 1, "v", cache.generation)  # the others are stale by now: dropped
    assert len(cache) == 1 and cache.get("fresh", CACHE_SECONDS + 1) is not None
