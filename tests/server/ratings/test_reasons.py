"""The reason and free-text rules of a rating (server/ratings/reasons.py), for any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import HallConfig, RatingReason, RatingSettings, parse_config
from server.ratings.reasons import DEFAULT_REASONS, InvalidRating, check, reasons_of

HALL = "hall: {name: 测试, always_open: true}\nservices:\n  - {code: a, name: 综合, prefix: A}\n"
CONFIG = parse_config(HALL).model_copy(update={"ratings": RatingSettings(require_reasons=True, text_max=30)})
CODES = [r.code for r in DEFAULT_REASONS]


def code_of(config: HallConfig, level: int, reasons: list[str], text: str | None) -> str | None:
    try:
        check(config, level, reasons, text)
    except InvalidRating as exc:
        assert exc.status == 422
        return exc.code
    return None


@given(st.integers(1, 5), st.lists(st.sampled_from([*CODES, "x", ""]), max_size=6), st.none() | st.text(max_size=60))
def test_check_accepts_exactly_what_the_rules_allow(level: int, reasons: list[str], text: str | None) -> None:
    got = code_of(CONFIG, level, reasons, text)
    body = (text or "").strip()
    if any(r not in CODES for r in reasons):
        assert got == "unknown_reason"
    elif reasons and level > 2:
        assert got == "reasons_not_allowed"
    elif level <= 2 and not reasons:
        assert got == "reasons_required"
    elif len(body) > 30:
        assert got == "rating_text_too_long"
    else:
        assert got is None
        codes, stored = check(CONFIG, level, reasons, text)
        assert codes == list(dict.fromkeys(reasons)) and stored == (body or None)


def test_the_halls_list_replaces_the_defaults() -> None:
    own = CONFIG.model_copy(update={"ratings": RatingSettings(reasons=[RatingReason(code="queue", name="排队久")])})
    assert [r.code for r in reasons_of(own)] == ["queue"]
    assert code_of(own, 1, ["attitude"], None) == "unknown_reason"
    assert code_of(own, 1, ["queue"], None) is None


def test_reasons_are_optional_unless_configured() -> None:
    assert code_of(parse_config(HALL), 2, [], None) is None


@pytest.mark.parametrize("code", ["Bad", "a-b", ""])
def test_reason_codes_are_validated_in_the_config(code: str) -> None:
    with pytest.raises(ValueError):
        RatingReason(code=code, name="x")
