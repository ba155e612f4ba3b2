"""Golden frames and fuzzing of the FF 68 keypad-bus codec."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import ProtocolError
from drivers.keypad import codec

CALL_NEXT_5 = bytes.fromhex("FF 68 03 03 68 05 01 0C 12 16")
EVAL_3_VALUE_0 = bytes.fromhex("FF 68 03 03 68 03 11 00 14 16")
EVAL_3_ACK = bytes.fromhex("FF 68 03 03 68 03 01 00 04 16")
SHOW_001_ON_5 = bytes.fromhex("FF 68 08 08 68 05 02 0A 0A 0A 00 00 01 26 16")


def parse_one(data: bytes, inbound: bool = True) -> codec.KeypadFrame:
    [frame] = codec.KeypadParser(inbound=inbound).feed(data)
    return frame


def test_golden_key_press_and_echo() -> None:
    assert codec.key_frame(5, "call_next") == CALL_NEXT_5
    frame = parse_one(CALL_NEXT_5)
    assert (frame.address, frame.func, frame.data) == (5, 0x01, b"\x0c")
    assert codec.caller_key(frame) == "call_next"
    assert codec.ack_for(frame) == CALL_NEXT_5


def test_golden_evaluator_and_ack() -> None:
    assert codec.rating_frame(3, 0) == EVAL_3_VALUE_0
    frame = parse_one(EVAL_3_VALUE_0)
    assert codec.is_evaluator(frame)
    assert codec.ack_for(frame) == EVAL_3_ACK
    assert EVAL_3_ACK[-2] == (EVAL_3_VALUE_0[-2] - 0x10) & 0xFF  # "CS − 0x10" as the page says


def test_golden_display_frames() -> None:
    assert codec.display(5, 1) == SHOW_001_ON_5
    waiting = codec.display(0xAA, None, waiting=12)
    assert waiting[:13] == bytes.fromhex("FF 68 08 08 68 AA 02 00 01 02 0A 0A 0A")
    assert waiting[13] == sum(waiting[5:13]) & 0xFF and waiting[-1] == 0x16
    assert codec.beep(0xAA) == bytes.fromhex("FF 68 02 02 68 AA 03") + bytes([(0xAA + 3) & 0xFF, 0x16])
    assert codec.start_evaluation(0xAA)[:9] == bytes.fromhex("FF 68 03 03 68 AA 01 0B") + bytes([0xB6])
    assert codec.show_stars(0xAA, 5)[5:8] == bytes.fromhex("AA 02 05")


@pytest.mark.parametrize(
    ("key", "data"),
    [("call_next", "0C"), ("recall", "0D"), ("rate", "0B"), ("pause", "12"), ("transfer", "13"),
     ("no_show", "06 0F"), ("suspend", "00 0F"), ("callback", "03 0F"), ("cancel", "0E")],
)  # fmt: skip
def test_key_table(key: str, data: str) -> None:
    frame = parse_one(codec.key_frame(9, key))
    assert frame.data == bytes.fromhex(data)
    assert codec.caller_key(frame) == key


def test_digits() -> None:
    assert codec.digits(1) == b"\x00\x00\x01"
    assert codec.digits(1234) == b"\x09\x09\x09"  # saturates: 1234 waiting shows 999, not 234
    assert codec.digits(999) == b"\x09\x09\x09"
    assert codec.digits(1000) == b"\x09\x09\x09"
    assert codec.digits(1234, saturate=False) == b"\x02\x03\x04"  # a ticket number keeps its last digits
    assert codec.display(5, 1234, 1234)[7:13] == bytes([9, 9, 9, 2, 3, 4])
    assert codec.digits(None) == b"\x0a\x0a\x0a"


def test_length_limits_inbound_only() -> None:
    assert codec.KeypadParser().feed(SHOW_001_ON_5) == []  # L = 8 never comes from a keypad
    assert codec.KeypadParser(inbound=False).feed(SHOW_001_ON_5)[0].data == bytes.fromhex("0A 0A 0A 00 00 01")
    assert codec.KeypadParser().feed(codec.beep(5)) == []  # L = 2 rejected


def test_bad_checksum_skipped_and_counted() -> None:
    bad = bytearray(CALL_NEXT_5)
    bad[-2] ^= 0xFF
    parser = codec.KeypadParser()
    assert parser.feed(bytes(bad) + EVAL_3_VALUE_0) == [parse_one(EVAL_3_VALUE_0)]
    assert isinstance(parser.errors[0], codec.KeypadChecksumError)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_parser_never_raises(data: bytes, inbound: bool) -> None:
    with contextlib.suppress(ProtocolError):  # the only exception allowed (the parser in fact never raises)
        codec.KeypadParser(inbound=inbound).feed(data)


# Garbage without 0x16 cannot complete a false frame before the good one (see the
# module docstring of the parser: it slides one byte at a time).
_garbage = st.binary(max_size=80).map(lambda b: b.replace(b"\x16", b"\x17"))


@settings(max_examples=300, deadline=None)
@given(garbage=_garbage, cut=st.integers(0, len(CALL_NEXT_5) - 1), chunk=st.integers(1, 12))
def test_resync_after_garbage_and_truncation(garbage: bytes, cut: int, chunk: int) -> None:
    stream = garbage + CALL_NEXT_5[:cut] + EVAL_3_VALUE_0 + CALL_NEXT_5
    parser = codec.KeypadParser()
    frames = [f for i in range(0, len(stream), chunk) for f in parser.feed(stream[i : i + chunk])]
    assert [f.raw for f in frames[-2:]] == [EVAL_3_VALUE_0, CALL_NEXT_5]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 254), st.sampled_from(["call_next", "no_show", "rate"])), max_size=8))
def test_interleaved_frames(presses: list[tuple[int, str]]) -> None:
    stream = b"".join(codec.key_frame(a, k) for a, k in presses)
    frames = codec.KeypadParser().feed(stream)
    assert [(f.address, codec.caller_key(f)) for f in frames] == presses


def test_digit_entry_golden() -> None:
    assert codec.entry_frame(5, "10") == bytes.fromhex("FF 68 05 05 68 05 01 01 00 0F 16 16")
    ten = parse_one(codec.entry_frame(5, "10"))
    assert codec.caller_input(ten) == codec.CallerInput("entry", "10")
    assert codec.caller_key(ten) is None  # "1 0 OK" is not "0 OK" (suspend)
    assert codec.caller_input(parse_one(codec.entry_frame(5, "0"))) == codec.CallerInput("suspend", "0")
    with pytest.raises(ValueError):
        codec.entry_frame(5, "1a")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(sorted(codec.DIALECTS)))
def test_digit_entries_never_raise_and_decode(data: bytes, dialect_name: str) -> None:
    dialect = codec.DIALECTS[dialect_name]
    for frame in codec.KeypadParser(dialect).feed(data):
        typed = codec.caller_input(frame, dialect)  # never raises, whatever the DATA
        known = {*dialect.keys.values(), *dialect.ok_codes.values(), "entry"}
        assert typed.key is None or typed.key in known
        assert typed.digits.isdigit() or typed.digits == ""


@settings(max_examples=200, deadline=None)
@given(garbage=_garbage, typed=st.text("0123456789", min_size=1, max_size=5), chunk=st.integers(1, 12))
def test_digit_entries_resync(garbage: bytes, typed: str, chunk: int) -> None:
    frame = codec.entry_frame(7, typed, codec.FF68_LONG)
    stream = garbage + frame[:4] + frame + CALL_NEXT_5
    parser = codec.KeypadParser(codec.FF68_LONG)
    frames = [f for i in range(0, len(stream), chunk) for f in parser.feed(stream[i : i + chunk])]
    assert [f.raw for f in frames[-2:]] == [frame, CALL_NEXT_5]
    assert codec.caller_input(frames[-2], codec.FF68_LONG).digits == typed
    # the reference dialect refuses entries longer than 2 digits (L > 5) and still resyncs
    if len(typed) > 2:
        assert [f.raw for f in codec.KeypadParser().feed(stream)][-1:] == [CALL_NEXT_5]
