"""DLE EOT status bytes: the table of docs/protocols/escpos.md, and garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import ProtocolError
from drivers.printer.status import combine, is_status_byte, parse_status


@pytest.mark.parametrize(
    ("n", "value", "faults"),
    [
        (1, 0x12, set()),
        (2, 0x12, set()),
        (3, 0x12, set()),
        (4, 0x12, set()),
        (1, 0x1A, {"offline"}),
        (4, 0x1E, {"paper_near_end"}),
        (4, 0x72, {"paper_out"}),
        (2, 0x16, {"cover_open"}),
        (2, 0x32, {"paper_out"}),
        (2, 0x52, {"printer_error"}),
        (3, 0x1A, {"cutter_error"}),
    ],
)
def test_status_table(n: int, value: int, faults: set[str]) -> None:
    assert parse_status(n, value) == faults


@pytest.mark.parametrize("value", [0x00, 0xFF, 0x13, 0x92, 0x10, 0x02, 0x0A])
def test_bytes_not_of_the_status_form_are_rejected(value: int) -> None:
    assert not is_status_byte(value)
    with pytest.raises(ProtocolError):
        parse_status(1, value)


def test_combined_status_names_the_cause_not_just_offline() -> None:
    paper_out = combine({1: 0x1A, 2: 0x32, 4: 0x72})
    assert paper_out.faults == {"paper_out"} and not paper_out.ok and paper_out.main_fault == "paper_out"
    cover = combine({1: 0x1A, 2: 0x16, 4: 0x12})
    assert cover.faults == {"cover_open"}
    unexplained = combine({1: 0x1A, 2: 0x12, 4: 0x12})
    assert unexplained.faults == {"offline"} and not unexplained.ok
    near_end = combine({1: 0x12, 2: 0x12, 4: 0x1E})
    assert near_end.ok and near_end.faults == {"paper_near_end"}
    assert combine({1: 0x12, 2: 0x12, 4: 0x12}).faults == frozenset()


@given(st.integers(1, 4), st.integers(0, 255))
def test_any_byte_parses_or_is_a_protocol_error(n: int, value: int) -> None:
    try:
        faults = parse_status(n, value)
    except ProtocolError:
        assert not is_status_byte(value)
    else:
        assert is_status_byte(value) and isinstance(faults, frozenset)
