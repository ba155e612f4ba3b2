"""Numbers per service: prefix + zero padding, range, wrap or refuse, daily limit."""

from __future__ import annotations

import pytest

from server.errors import Refused
from server.queue.numbering import NumberRule, format_number, next_number


def test_format_pads_to_width() -> None:
    assert format_number("A", 7, 3) == "A007"
    assert format_number("GR", 1234, 4) == "GR1234"


def test_first_number_is_range_start_then_counts_up() -> None:
    rule = NumberRule("tax", "税务", "K", start=101, end=199)
    assert next_number(rule, None, 0) == 101
    assert next_number(rule, 101, 1) == 102


def test_exhausted_range_refuses() -> None:
    rule = NumberRule("tax", "税务", "K", start=1, end=3)
    with pytest.raises(Refused) as info:
        next_number(rule, 3, 3)
    assert info.value.code == "number_range_exhausted"


def test_exhausted_range_wraps_when_configured() -> None:
    rule = NumberRule("tax", "税务", "K", start=1, end=3, wrap=True)
    assert next_number(rule, 3, 3) == 1


def test_daily_limit_refuses_before_range() -> None:
    rule = NumberRule("tax", "税务", "K", daily_limit=2, wrap=True)
    assert next_number(rule, 1, 1) == 2
    with pytest.raises(Refused) as info:
        next_number(rule, 2, 2)
    assert info.value.code == "daily_limit_reached"
    assert info.value.extra["limit"] == 2
