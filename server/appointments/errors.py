"""The appointment refusals (codes in server/errors.py CATALOGUE)."""

from __future__ import annotations

import contextlib
from typing import Any

from server.errors import Conflict, HallqError, NotFound, RateLimited, text_of


class Unprocessable(HallqError):
    """The booking cannot be made as asked: closed day, outside the horizon, limits (422)."""

    status = 422
    default_code = "booking_refused"


def refused(code: str, **extra: Any) -> Unprocessable:
    """A 422 with the catalogued text of ``code`` (its ``{placeholders}`` filled from ``extra``)."""
    zh, en = text_of(code)
    with contextlib.suppress(KeyError, IndexError):
        zh, en = zh.format(**extra), en.format(**extra)
    return Unprocessable(zh, en, code=code, **extra)


def slot_full(next_free: list[dict[str, Any]]) -> Conflict:
    """409: the slot has no capacity left; ``next_free`` lists the next slots that do."""
    zh, en = text_of("slot_full")
    return Conflict(zh, en, code="slot_full", next_free=next_free)


def not_found() -> NotFound:
    """404 for a wrong code or a wrong ID number alike (never says which)."""
    zh, en = text_of("appointment_not_found")
    return NotFound(zh, en, code="appointment_not_found")


def too_many(code: str) -> RateLimited:
    """429 for the remote-ticket abuse limits (per phone, per address)."""
    zh, en = text_of(code)
    return RateLimited(zh, en, retry_after=3600, code=code)
