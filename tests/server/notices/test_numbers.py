"""Mobile numbers: normalising (fuzzed), masking, sealing, the keyed hash shared with the appointments."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.appointments.people import hash_phone
from server.installation import identity_hasher
from server.notices import numbers


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_normalise_raises_only_mobile_invalid(raw: str) -> None:
    try:
        number = numbers.normalise(raw)
    except numbers.MobileInvalid as exc:
        assert exc.code == "invalid_mobile" and exc.status == 422
    else:
        assert len(number) == 11 and number.isascii() and number.isdigit()


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086", "+86 "]))
def test_valid_numbers_normalise_and_mask(number: str, prefix: str) -> None:
    spaced = f"{prefix}{number[:3]}-{number[3:7]} {number[7:]}"
    assert numbers.normalise(spaced) == number
    assert numbers.mask(number) == number[:3] + "****" + number[-4:]


def test_sealing_round_trip_and_hash_matches_the_bookings(tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    sealer = numbers.sealer(secret)
    sealed = sealer.seal("13800138000")
    assert "13800138000" not in sealed and sealer.open(sealed) == "13800138000"
    assert sealer.seal("13800138000") != sealed  # a fresh nonce each time
    assert numbers.sealer(tmp_path / "other.key").open(sealed) is None
    assert numbers.phone_hasher(secret)("+86 13800138000") == hash_phone(identity_hasher(secret), "13800138000")


def test_numbers_inside_error_texts_are_masked() -> None:
    text = "gateway refused: 号码13900139000在黑名单 (id 213900139000x)"
    assert numbers.MOBILE_IN_TEXT.sub(lambda m: numbers.mask(m.group()), text) == (
        "gateway refused: 号码139****9000在黑名单 (id 213900139000x)")


@pytest.mark.parametrize("raw", ["", "+86", "1380013800", "１３８００１３８０００", "138 0013 800"])
def test_near_misses_are_refused(raw: str) -> None:
    with pytest.raises(numbers.MobileInvalid):
        numbers.normalise(raw)
