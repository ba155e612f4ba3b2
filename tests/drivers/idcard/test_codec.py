"""SAM frames against the golden vectors of docs/protocols/idcard-sam.md."""

from __future__ import annotations

import pytest

from drivers.errors import ChecksumError, ProtocolError
from drivers.idcard import codec
from drivers.idcard.codec import (
    Command,
    FrameParser,
    RequestParser,
    Response,
    SamChecksumError,
    SamFrameError,
    SamStatus,
    build_request,
    build_response,
    parse_response,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("frame", "golden"),
    [
        (codec.RESET, "AA AA AA 96 69 00 03 10 FF EC"),
        (codec.STATUS, "AA AA AA 96 69 00 03 11 FF ED"),
        (codec.SAM_ID, "AA AA AA 96 69 00 03 12 FF EE"),
        (codec.FIND, "AA AA AA 96 69 00 03 20 01 22"),
        (codec.SELECT, "AA AA AA 96 69 00 03 20 02 21"),
        (codec.READ, "AA AA AA 96 69 00 03 30 01 32"),
        (codec.READ_ADDRESS, "AA AA AA 96 69 00 03 30 03 30"),
        (codec.READ_FINGERPRINT, "AA AA AA 96 69 00 03 30 10 23"),
        (codec.set_baud_request(115200), "AA AA AA 96 69 00 03 60 00 63"),
        (codec.set_rf_frame_request(0x50), "AA AA AA 96 69 00 04 61 FF 50 CA"),
    ],
)
def test_request_frames_match_the_protocol_page(frame: bytes, golden: str) -> None:
    assert frame == h(golden)


def test_other_baud_rates_use_para_01_to_04() -> None:
    assert [codec.set_baud_request(b)[8] for b in (57600, 38400, 19200, 9600)] == [1, 2, 3, 4]
    with pytest.raises(SamFrameError):
        codec.set_baud_request(4800)


@pytest.mark.parametrize(
    ("golden", "status", "data"),
    [
        ("AA AA AA 96 69 00 04 00 00 90 94", SamStatus.OK, b""),
        ("AA AA AA 96 69 00 04 00 00 60 64", SamStatus.SELF_TEST_FAILED, b""),
        ("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97", SamStatus.CARD_FOUND, bytes(4)),
        ("AA AA AA 96 69 00 04 00 00 80 84", SamStatus.FIND_FAILED, b""),
        ("AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C", SamStatus.OK, bytes(8)),
        ("AA AA AA 96 69 00 04 00 00 81 85", SamStatus.SELECT_FAILED, b""),
        ("AA AA AA 96 69 00 04 00 00 41 45", SamStatus.READ_FAILED, b""),
    ],
)
def test_typical_replies_parse_and_rebuild(golden: str, status: SamStatus, data: bytes) -> None:
    response = parse_response(h(golden))
    assert response.status is status
    assert response.data == data
    assert build_response(status, data) == h(golden)


def test_every_status_code_of_the_page_is_named() -> None:
    codes = bytes.fromhex("90 91 9F 10 11 21 23 24 31 32 33 37 3F 40 41 47 60 66 80 81")
    assert all(SamStatus.of(c) is not None for c in codes)
    assert SamStatus.of(0x55) is None
    assert Response(0, 0, 0x55).status is None


def test_read_reply_is_1295_bytes() -> None:
    frame = build_response(SamStatus.OK, b"\x01\x00\x04\x00" + bytes(256 + 1024))
    assert len(frame) == 1295
    assert frame[5:7] == h("05 08")
    assert parse_response(frame).data[:4] == h("01 00 04 00")


def test_codec_errors_are_protocol_errors() -> None:
    bad = h("AA AA AA 96 69 00 04 00 00 90 95")
    with pytest.raises(SamChecksumError) as info:
        parse_response(bad)
    assert isinstance(info.value, ChecksumError)
    assert isinstance(info.value, ProtocolError)
    with pytest.raises(SamFrameError):
        parse_response(h("AA AA AA 96 69 00 04 00 00"))


def test_parser_takes_one_byte_at_a_time() -> None:
    parser = FrameParser()
    frame = h("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
    out = [f for b in frame for f in parser.feed(bytes([b]))]
    assert out == [Response(0, 0, 0x9F, bytes(4))]
    assert parser.pending == 0


def test_parser_resyncs_after_garbage_and_bad_checksum() -> None:
    parser = FrameParser()
    ok = h("AA AA AA 96 69 00 04 00 00 90 94")
    bad = h("AA AA AA 96 69 00 04 00 00 90 95")
    out = parser.feed(b"\x00\x13\xaa\xaa" + bad + b"\x96\x69junk" + ok)
    assert out == [Response(0, 0, 0x90)]
    assert parser.bad_frames == 1
    assert isinstance(parser.errors[-1], SamChecksumError)


def test_truncated_frame_followed_by_a_good_one_resyncs_at_once() -> None:
    parser = FrameParser()
    long_frame = build_response(SamStatus.OK, bytes(1284))
    ok = h("AA AA AA 96 69 00 04 00 00 80 84")
    out = parser.feed(long_frame[:600] + ok)
    assert out == [Response(0, 0, 0x80)]


def test_implausible_length_is_dropped() -> None:
    parser = FrameParser()
    assert parser.feed(h("AA AA AA 96 69 FF FF 00") + h("AA AA AA 96 69 00 04 00 00 90 94")) == [
        Response(0, 0, 0x90)
    ]


def test_request_parser_reads_host_frames() -> None:
    parser = RequestParser()
    requests = parser.feed(codec.STATUS + codec.set_rf_frame_request(0x50) + codec.set_baud_request(9600))
    assert [r.command for r in requests] == [Command.STATUS, Command.SET_RF_FRAME, Command.SET_BAUD]
    assert requests[1].data == b"\x50"
    assert build_request(Command.FIND) == codec.FIND
