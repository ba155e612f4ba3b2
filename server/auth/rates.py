"""Ticket-issue rate limits kept in the database, so every server process counts the same hits.

Each key (kiosk, client address, account, person) counts hits in buckets of a tenth of its
period; a hit is allowed while the buckets of the last period hold fewer than the limit.
``--workers N`` therefore no longer means N times the limit. Expired rows are pruned as
hits arrive. Without the ``rate_hits`` table (a database not yet migrated) the counters fall
back to this process's memory, with one warning.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.exc import DBAPIError

from server.auth.limits import SlidingWindow
from server.auth.tables import rate_hits

log = logging.getLogger("hallq.auth")
BUCKETS = 10


# built once: a hit is two statements whatever the number of keys (it was two per key, or three)
_RECENT = select(rate_hits.c.key, rate_hits.c.bucket, rate_hits.c.count).where(
    rate_hits.c.key.in_(bindparam("keys", expanding=True)))
_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (key, bucket) DO UPDATE SET count = count + 1`` for this dialect (cached)."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            plain: Any = pg_insert(rate_hits)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            plain = sqlite_insert(rate_hits)
        stmt = _UPSERTS[dialect] = plain.on_conflict_do_update(
            index_elements=["key", "bucket"], set_={"count": rate_hits.c.count + 1})
    return stmt


def _window(key: str, limit: int, period: float, now_ms: int) -> tuple[str, int, int, int]:
    """(stored key, bucket size ms, current bucket, first bucket in the window)."""
    period_ms = max(1000, int(period * 1000))
    size = max(1, period_ms // BUCKETS)
    return key[:160], size, now_ms // size, (now_ms - period_ms) // size + 1


def hit_store(conn: Connection, checks: list[tuple[str, tuple[int, float]]], now_ms: int) -> tuple[str, int] | None:
    """Count one hit on every key; (key, seconds to wait) of the first one at its limit, else None.

    A refused hit counts on no key: waiting out the limit is enough, retrying does not extend it.
    """
    windows = [(key, limit, period, *_window(key, limit, period, now_ms)) for key, (limit, period) in checks]
    if not windows:
        return None
    # every bucket of these keys: at most a period's worth each, since expired rows are pruned
    rows = [tuple(row) for row in conn.execute(_RECENT, {"keys": list({w[3] for w in windows})})]
    for key, limit, period, stored, size, _bucket, first in windows:
        mine = [(bucket, count) for k, bucket, count in rows if k == stored and bucket >= first]
        if sum(count for _, count in mine) >= limit:
            oldest = min((bucket for bucket, _ in mine), default=now_ms // size)
            wait = (int(oldest) * size + max(1000, int(period * 1000)) - now_ms) / 1000
            return key, max(1, math.ceil(wait))
    conn.execute(_upsert(conn.dialect.name), [
        {"key": stored, "bucket": bucket, "count": 1, "expires_at": (bucket + 1) * size + max(1000, int(period * 1000))}
        for _key, _limit, period, stored, size, bucket, _first in windows])
    return None


def refund_store(conn: Connection, checks: list[tuple[str, tuple[int, float]]], at_ms: int) -> None:
    """Take back the hit counted at ``at_ms`` on every key (the attempt was refused: no ticket)."""
    c = rate_hits.c
    for key, (limit, period) in checks:
        stored, _size, bucket, _first = _window(key, limit, period, at_ms)
        conn.execute(update(rate_hits).where(c.key == stored, c.bucket == bucket, c.count > 0)
                     .values(count=c.count - 1))


def prune(conn: Connection, now_ms: int) -> int:
    """Drop buckets no window reaches any more."""
    return int(conn.execute(delete(rate_hits).where(rate_hits.c.expires_at < now_ms)).rowcount or 0)


class IssueCounters:
    """The issue-rate counters of one AuthService: the database, or this process's memory as a fallback."""

    def __init__(self, memory: SlidingWindow) -> None:
        self.memory = memory
        self.stored = True
        self._hits = 0

    def hit(self, auth: object, checks: list[tuple[str, tuple[int, float]]],
            now_ms: int | None = None) -> tuple[str, int] | None:
        """Count one issue on every key (blocking: run it in the thread pool); ``now_ms`` for ``refund``."""
        if self.stored:
            try:
                with auth.tx() as conn:  # type: ignore[attr-defined]
                    now = auth.now_ms() if now_ms is None else now_ms  # type: ignore[attr-defined]
                    self._hits += 1
                    if self._hits % 200 == 1:
                        prune(conn, now)
                    return hit_store(conn, checks, now)
            except DBAPIError as exc:  # no rate_hits table yet (database not migrated to 0007_security)
                if "rate_hits" not in str(exc):
                    raise
                self.stored = False
                log.warning("rate_hits table missing: issue limits are counted per process until migrated")
        now_s = auth.monotonic()  # type: ignore[attr-defined]
        for key, (limit, period) in checks:
            wait = self.memory.hit(key, limit, period, now_s)
            if wait is not None:
                return key, max(1, math.ceil(wait))
        return None

    def refund(self, auth: object, checks: list[tuple[str, tuple[int, float]]], at_ms: int) -> None:
        """Take back a hit counted by ``hit(..., now_ms=at_ms)``: the attempt was refused and took no ticket."""
        if self.stored:
            with auth.tx() as conn:  # type: ignore[attr-defined]
                refund_store(conn, checks, at_ms)
            return
        for key, _limit in checks:
            self.memory.unhit(key)
