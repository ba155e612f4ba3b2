"""Ticket numbers: per service per business day, prefix + zero-padded number."""

from __future__ import annotations

from dataclasses import dataclass

from server.queue.refusals import daily_limit_reached, number_range_exhausted


@dataclass(frozen=True, slots=True)
class NumberRule:
    """A service's number series."""

    service: str
    name: str
    prefix: str
    start: int = 1
    end: int = 999
    width: int = 3
    wrap: bool = False
    daily_limit: int | None = None


def format_number(prefix: str, n: int, width: int) -> str:
    """``("A", 7, 3)`` → ``A007``."""
    return f"{prefix}{n:0{width}d}"


def next_number(rule: NumberRule, last: int | None, issued: int) -> int:
    """The next number after ``last`` (None = first today); refuses past the daily limit or range."""
    if rule.daily_limit is not None and issued >= rule.daily_limit:
        raise daily_limit_reached(rule.service, rule.name, rule.daily_limit)
    if last is None:
        return rule.start
    if last < rule.end:
        return last + 1
    if rule.wrap:
        return rule.start
    raise number_range_exhausted(rule.service, rule.name)
