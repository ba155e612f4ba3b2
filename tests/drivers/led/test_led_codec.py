"""Golden frames and fuzzing of the Onbon BX codec."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import ProtocolError
from drivers.led import codec

PING = bytes.fromhex("A5 A5 A5 A5 A5 A5 A5 A5 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A2 00 01 00 00 68 F8 5A")
CLEAR = bytes.fromhex("A5 A5 A5 A5 A5 A5 A5 A5 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A3 10 01 00 00 51 F8 5A")
ACK = bytes.fromhex("A5 A5 A5 A5 A5 A5 A5 A5 00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 00 00 00 00 14 AC 5A")
TEXT = bytes.fromhex(
    "A5 A5 A5 A5 A5 A5 A5 A5 01 00 00 80 00 00 00 00 00 00 FE 02 34 00 A3 06 01 00 00 00 01 2B 00"
    "00 00 00 00 00 40 80 10 00 00 00 00 00 00 00 00 00 01 01 01 00 00 00 10 00 00 00"
    "41 30 30 31 20 C7 EB B5 BD 33 BA C5 B4 B0 BF DA 0F FA 5A"
)


def test_golden_ping_clear_ack() -> None:
    assert codec.ping(1) == PING
    assert codec.clear(1) == CLEAR
    assert codec.ack() == ACK


def test_golden_dynamic_text() -> None:
    area = codec.Area(area_id=0, x=0, y=0, width=64, height=16, align="left", effect="static")
    assert codec.dynamic_text(1, [(area, "A001 请到3号窗口".encode("gb2312"))]) == TEXT


def test_decode_golden_frames() -> None:
    ack = codec.decode(ACK)
    assert (ack.dst, ack.src, ack.command, ack.status) == (0x8000, 0xFFFE, codec.CMD_ACK, 0)
    text = codec.decode(TEXT)
    [block] = codec.parse_dynamic_text(text)
    assert block.text.decode("gb2312") == "A001 请到3号窗口"
    assert (block.area.width, block.area.height, block.area.effect) == (64, 16, "static")


def test_crc16_arc_check_value() -> None:
    assert codec.crc16_arc(b"123456789") == 0xBB3D  # the catalogue check value of CRC-16/ARC


def test_escaping_round_trip_and_no_frame_bytes() -> None:
    body = bytes([0xA5, 0xA6, 0x5A, 0x5B, 0x00, 0xFF])
    escaped = codec.escape(body)
    assert escaped == bytes.fromhex("A6 02 A6 01 5B 02 5B 01 00 FF")
    assert codec.unescape(escaped) == body
    with pytest.raises(codec.BxProtocolError):
        codec.unescape(b"\xa6\x07")


def test_text_needing_escapes_round_trips() -> None:
    # area x=0x5A px forces an escaped 5A inside the body
    area = codec.Area(area_id=3, x=0x5A, width=0xA5, height=16, align="center", effect="scroll_left")
    wire = codec.dynamic_text(7, [(area, b"\xa5\x5a")])
    assert wire.count(b"\x5a") == 1 and wire.rstrip(b"\x5a").lstrip(b"\xa5").find(b"\xa5") < 0
    [block] = codec.parse_dynamic_text(codec.decode(wire))
    assert (block.area.x, block.area.width, block.area.align, block.text) == (0x5A, 0xA5, "center", b"\xa5\x5a")


def test_bad_crc_is_checksum_error() -> None:
    bad = codec.encode_with_crc(codec.BxFrame(0x8000, 1, b"\xa0\x00\x00\x00\x00"), 0x1234)
    with pytest.raises(codec.BxChecksumError):
        codec.decode(bad)
    parser = codec.BxParser()
    assert parser.feed(bad + ACK) == [codec.decode(ACK)]
    assert parser.error_count == 1


def test_parser_across_chunks() -> None:
    parser = codec.BxParser()
    stream = PING + CLEAR + TEXT
    frames = [f for i in range(len(stream)) for f in parser.feed(stream[i : i + 1])]
    assert [f.command for f in frames] == [codec.CMD_PING, codec.CMD_CLEAR, codec.CMD_DYNAMIC_TEXT]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parser_never_raises_on_random_bytes(data: bytes) -> None:
    parser = codec.BxParser()
    with contextlib.suppress(ProtocolError):  # the only exception allowed (the parser in fact never raises)
        parser.feed(data)
    with contextlib.suppress(codec.BxProtocolError):
        codec.decode(data)


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=120), cut=st.integers(min_value=0, max_value=len(TEXT)), chunk=st.integers(1, 40))
def test_parser_resyncs_after_garbage_and_truncation(garbage: bytes, cut: int, chunk: int) -> None:
    stream = garbage + TEXT[:cut] + ACK + TEXT
    parser = codec.BxParser()
    frames = [f for i in range(0, len(stream), chunk) for f in parser.feed(stream[i : i + chunk])]
    assert frames[-2:] == [codec.decode(ACK), codec.decode(TEXT)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([PING, CLEAR, ACK, TEXT]), min_size=1, max_size=6), st.binary(max_size=20))
def test_interleaved_frames_and_noise(frames: list[bytes], noise: bytes) -> None:
    clean = noise.replace(b"\xa5", b"").replace(b"\x5a", b"")  # noise outside frames
    stream = b"".join(clean + f for f in frames)
    assert [codec.encode(f) for f in codec.BxParser().feed(stream)] == frames
