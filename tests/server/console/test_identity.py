"""The typed ID number of 代取号: GB 11643 check digit, keyed hash + mask only (property tests)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.idcard.card import check_digit
from server.console.identity import ConsoleInputError, identity_of

TODAY = dt.date(2026, 11, 27)
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
regions = st.from_regex(r"[1-8]\d{5}", fullmatch=True)
serials = st.from_regex(r"\d{3}", fullmatch=True)


def hasher(number: str) -> str:
    return "h:" + number[::-1]


@given(regions, births, serials)
def test_every_valid_number_is_kept_as_hash_and_mask(region: str, born: dt.date, serial: str) -> None:
    first = region + born.strftime("%Y%m%d") + serial
    number = first + check_digit(first)
    ref = identity_of(" " + number.lower() + " ", hasher, TODAY)
    assert ref.key_hash == hasher(number) and ref.birth_date == born
    assert ref.masked_id == number[:6] + "********" + number[-4:] and number not in (ref.masked_id or "")


@given(regions, births, serials, st.sampled_from("0123456789X"))
def test_a_wrong_check_character_is_refused(region: str, born: dt.date, serial: str, last: str) -> None:
    first = region + born.strftime("%Y%m%d") + serial
    if last == check_digit(first):
        return
    with pytest.raises(ConsoleInputError) as err:
        identity_of(first + last, hasher, TODAY)
    assert err.value.code == "invalid_id_number" and err.value.status == 422
    assert err.value.extra["problem"] == "check_digit"


@given(st.text(max_size=30))
def test_any_text_is_either_accepted_or_refused_with_the_one_code(text: str) -> None:
    try:
        identity_of(text, hasher, TODAY)
    except ConsoleInputError as exc:
        # the refusal names the kind of problem only, never echoes the number
        assert exc.code == "invalid_id_number" and set(exc.extra) == {"problem"}
        assert exc.extra["problem"] in ("format", "check_digit", "birth_date")
