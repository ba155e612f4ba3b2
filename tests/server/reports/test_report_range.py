"""The report range parser (server/reports/report.py parse_range): clean 422s for any input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.reports.report import InvalidRange, parse_range

TODAY = dt.date(2026, 11, 30)


def test_defaults_and_inclusive_bounds() -> None:
    assert parse_range(None, None, today=TODAY) == (TODAY, TODAY)
    assert parse_range("2026-11-01", "2026-11-30", today=TODAY) == (dt.date(2026, 11, 1), TODAY)
    with pytest.raises(InvalidRange) as err:
        parse_range("2026-11-01", "2026-11-03", today=TODAY, max_days=2)
    assert err.value.extra["field"] == "to" and err.value.status == 422


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=12), st.dates().map(dt.date.isoformat)),
       st.one_of(st.none(), st.text(max_size=12), st.dates().map(dt.date.isoformat)))
def test_any_input_is_a_range_or_a_named_422(start: str | None, end: str | None) -> None:
    try:
        first, last = parse_range(start, end, today=TODAY)
    except InvalidRange as exc:
        assert exc.extra["field"] in ("from", "to")
        return
    assert first <= last and (last - first).days < 366
