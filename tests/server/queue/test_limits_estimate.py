"""Per-person limits, elderly priority and wait estimates."""

from __future__ import annotations

import datetime as dt

import pytest

from server.errors import Refused
from server.queue.entities import IdentityRef, age_on
from server.queue.enums import Priority
from server.queue.estimate import average_minutes, eta_minutes
from server.queue.limits import check_per_person, effective_priority

DAY = dt.date(2026, 11, 27)


def test_per_person_limit_per_service_and_total() -> None:
    check_per_person("tax", 1, 1, 2, 3)
    with pytest.raises(Refused) as info:
        check_per_person("tax", 2, 2, 2, 3)
    assert info.value.code == "per_person_limit" and info.value.extra["service"] == "tax"
    with pytest.raises(Refused) as info:
        check_per_person("tax", 0, 3, 2, 3)
    assert info.value.extra["service"] is None


def test_age_counts_full_years() -> None:
    assert age_on(dt.date(1961, 11, 27), DAY) == 65
    assert age_on(dt.date(1961, 11, 28), DAY) == 64


def test_elderly_get_priority() -> None:
    old = IdentityRef("h", birth_date=dt.date(1961, 11, 27))
    young = IdentityRef("h", birth_date=dt.date(1961, 11, 28))
    assert effective_priority(Priority.NORMAL, old, DAY, 65) is Priority.PRIORITY
    assert effective_priority(Priority.NORMAL, young, DAY, 65) is Priority.NORMAL
    assert effective_priority(Priority.NORMAL, old, DAY, None) is Priority.NORMAL
    assert effective_priority(Priority.NORMAL, None, DAY, 65) is Priority.NORMAL
    # a better class is never lowered
    assert effective_priority(Priority.GREEN, old, DAY, 65) is Priority.GREEN


def test_average_minutes_uses_recent_samples_or_fallback() -> None:
    assert average_minutes([], 12.0) == 12.0
    assert average_minutes([600, 1200], 12.0) == 15.0
    # only the last N samples count
    assert average_minutes([6000, 60, 60], 12.0, samples=2) == 1.0


def test_eta_divides_work_by_windows() -> None:
    assert eta_minutes(0, 2, 10) == 0
    assert eta_minutes(5, 2, 10) == 25
    assert eta_minutes(1, 3, 10) == 4
    assert eta_minutes(5, 0, 10) is None
