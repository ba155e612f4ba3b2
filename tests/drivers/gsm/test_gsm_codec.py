"""PDU and AT codecs: golden vectors from public references, round trips, and fuzzing."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.gsm import codec, pdu

# --- golden vectors (sources in docs/protocols/gsm-at.md) ------------------------------------


def test_packing_hellohello() -> None:
    assert pdu.pack_septets(pdu.gsm7_septets("hellohello") or []).hex().upper() == "E8329BFD4697D9EC37"


def test_nordic_cmgs_example() -> None:
    # nRF91 AT command reference, +CMGS: SMSC +448888888, to +358401234567, VP 0B (60 min)
    (part,) = pdu.submit_pdus("+358401234567", "Testing a sms messaging over lte", status_report=False,
                              validity_minutes=60, smsc="+448888888")  # fmt: skip
    assert part.hex == ("069144888888F811000C9153481032547600000B20"
                        "D4F29C9E769F4161D0BC3D07B5CBF379F89C769F416F7B590E62D3CB")
    assert part.tpdu_length == 42


def test_neoway_ucs2_example() -> None:
    # Neoway N11 manual: UCS-2 "hello" to 13421839693 (type 81), no SMSC, AT+CMGS=23
    (part,) = pdu.submit_pdus("13421839693", "hello", status_report=False, validity_minutes=None, ucs2=True)
    assert part.hex == "0001000B813124819396F300080A00680065006C006C006F"
    assert part.tpdu_length == 23


def test_chinese_text_is_ucs2_and_ascii_is_gsm7() -> None:
    (zh,) = pdu.submit_pdus("13800138000", "你好", status_report=False, validity_minutes=None)
    assert zh.hex == "0001000B813108108300F00008044F60597D"
    (en,) = pdu.submit_pdus("13800138000", "A015", status_report=False, validity_minutes=None)
    assert pdu.decode_submit(en.hex).dcs == pdu.DCS_GSM7


def test_first_octet_and_validity() -> None:
    (part,) = pdu.submit_pdus("+8613800138000", "hi")
    data = bytes.fromhex(part.hex)
    assert data[1] == 0x31  # SUBMIT | VPF relative | SRR
    assert data[-4] == 0xA7  # 24 h, TS 23.040 §9.2.3.12.1
    assert pdu.validity_octet(5) == 0 and pdu.validity_octet(12 * 60) == 143 and pdu.validity_octet(2 * 1440) == 168


def test_long_texts_split_at_the_limits() -> None:
    assert len(pdu.submit_pdus("1", "a" * 160)) == 1
    assert [pdu.decode_submit(p.hex).text for p in pdu.submit_pdus("1", "a" * 161)] == ["a" * 153, "a" * 8]
    assert len(pdu.submit_pdus("1", "中" * 70)) == 1
    parts = pdu.submit_pdus("1", "中" * 71, reference=0xAB)
    assert [len(pdu.decode_submit(p.hex).text) for p in parts] == [67, 4]
    assert bytes.fromhex(parts[0].hex)[1] & pdu.FO_UDHI
    udh = bytes.fromhex(parts[1].hex)[-9 - 8 : -8]  # 6 UDH octets before 4 characters
    assert udh[-6:] == bytes((5, 0, 3, 0xAB, 2, 2))


def test_escape_pairs_and_surrogates_are_never_split() -> None:
    texts = [pdu.decode_submit(p.hex).text for p in pdu.submit_pdus("1", "a" * 152 + "{}" + "a" * 10)]
    assert texts == ["a" * 152, "{}" + "a" * 10]  # "{" is 2 septets: 154 would not fit in 153
    emoji = "中" * 66 + "😀" + "中" * 4
    texts = [pdu.decode_submit(p.hex).text for p in pdu.submit_pdus("1", emoji)]
    assert texts == ["中" * 66, "😀" + "中" * 4]  # a surrogate pair (4 octets) would overflow 134


def test_status_report_round_trip_and_outcomes() -> None:
    when = datetime(2026, 12, 1, 9, 30, 5, tzinfo=timezone(timedelta(hours=8)))
    hex_pdu = pdu.encode_status_report(7, "+8613800138000", 0, when, when, smsc="+8613800100500")
    report = pdu.decode_status_report(hex_pdu)
    assert (report.reference, report.recipient, report.status, report.outcome) == (7, "+8613800138000", 0, "delivered")
    assert report.submitted == when
    assert pdu.decode_status_report(pdu.encode_status_report(7, "1", 0x21, when, when)).outcome == "pending"
    assert pdu.decode_status_report(pdu.encode_status_report(7, "1", 0x41, when, when)).outcome == "failed"
    assert pdu.status_report_length(hex_pdu) == len(bytes.fromhex(hex_pdu)) - 9


def test_bad_numbers_and_empty_texts_are_refused() -> None:
    for number in ("", "abc", "+", "1" * 21):
        with pytest.raises(pdu.PduError):
            pdu.submit_pdus(number, "x")
    with pytest.raises(pdu.PduError):
        pdu.submit_pdus("1", "")


# --- AT parser ----------------------------------------------------------------------------------


def test_parser_items() -> None:
    parser = codec.AtParser()
    items = parser.feed(b"AT+CSQ\r\r\n+CSQ: 21,99\r\n\r\nOK\r\n\r\n> ")
    assert items == [codec.Final(True, "OK", None, ("+CSQ: 21,99",)), codec.Prompt()]
    assert codec.parse_csq(items[0]).dbm == -71
    items = parser.feed(b"\r\n+CMS ERROR: 500\r\n\r\n+CDS: 6\r\n00060")
    assert items == [codec.Final(False, "+CMS ERROR", 500)]
    assert parser.feed(b"B00\r\n") == [codec.Unsolicited("+CDS", "6", "00060B00")]
    (final,) = parser.feed(b"\r\n+CREG: 0,5\r\n\r\nOK\r\n")
    assert codec.parse_creg(final).label == "roaming"
    assert parser.feed(b"\r\n+CREG: 2\r\n") == [codec.Unsolicited("+CREG", "2")]


def test_parser_byte_by_byte_equals_whole() -> None:
    stream = b"\r\n+CPIN: READY\r\n\r\nOK\r\n\r\n> \r\n+CMGS: 4\r\n\r\nOK\r\n\r\n+CDS: 6\r\n0006000B\r\n"
    whole = codec.AtParser().feed(stream)
    parser = codec.AtParser()
    pieces = [item for i in range(len(stream)) for item in parser.feed(stream[i : i + 1])]
    assert pieces == whole and len(whole) == 4


@pytest.mark.parametrize("line", ["+CSQ: x", "+CSQ: 40,99", "+CSQ:"])
def test_bad_information_lines_are_at_errors(line: str) -> None:
    with pytest.raises(codec.AtError):
        codec.parse_csq(codec.Final(True, "OK", None, (line,)))


# --- properties ------------------------------------------------------------------------------------

numbers = st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True)
texts = st.text(min_size=1, max_size=700)


@settings(max_examples=150, deadline=None)
@given(numbers, texts, st.integers(0, 255))
def test_submit_round_trip(number: str, text: str, reference: int) -> None:
    parts = pdu.submit_pdus(number, text, reference=reference)
    decoded = [pdu.decode_submit(p.hex) for p in parts]
    assert "".join(d.text for d in decoded) == text
    assert all(d.number == number and d.parts == len(parts) for d in decoded)
    assert all(d.tpdu_length == p.tpdu_length and p.tpdu_length <= 164 for d, p in zip(decoded, parts, strict=True))
    if len(parts) > 1:
        assert {d.reference for d in decoded} == {reference}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decoders_raise_only_their_own_error(data: bytes) -> None:
    for decode in (pdu.decode_submit, pdu.decode_status_report):
        with contextlib.suppress(pdu.PduError):
            decode(data.hex())


@settings(max_examples=200, deadline=None)
@given(numbers, texts, st.data())
def test_mutated_submits_raise_only_pdu_errors(number: str, text: str, data: st.DataObject) -> None:
    raw = bytearray(bytes.fromhex(pdu.submit_pdus(number, text)[0].hex))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(pdu.PduError):
        pdu.decode_submit(bytes(raw[:cut]).hex())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([
    b"\r\n", b"OK\r\n", b"> ", b"+CDS: 6\r\n", b"+CMS ERROR: 5\r\n", b"+CREG: 0,1\r\n", b"\xff\xfe", b"x" * 1100,
])), max_size=30))  # fmt: skip
def test_at_parser_never_raises(chunks: list[bytes]) -> None:
    parser = codec.AtParser()
    for chunk in chunks:
        for item in parser.feed(chunk):
            assert isinstance(item, codec.Final | codec.Prompt | codec.Unsolicited)
            if isinstance(item, codec.Final):
                for parse in (codec.parse_csq, codec.parse_creg, codec.parse_cmgs, codec.parse_cpin):
                    with contextlib.suppress(codec.AtError):
                        parse(item)


def test_timestamps_round_trip() -> None:
    when = datetime(2026, 2, 23, 23, 59, 59, tzinfo=UTC)
    assert pdu.decode_timestamp(pdu.encode_timestamp(when)) == when
    assert pdu.decode_timestamp(bytes(7)) is None  # month 0: not a date


def test_hallq_call_notice_vector() -> None:
    (part,) = pdu.submit_pdus("13800138000", "【政务服务中心】请A015号到3号窗口办理。")
    assert part.tpdu_length == 58
    assert part.hex == ("0031000B813108108300F00008A72C3010653F52A1670D52A14E2D5FC330118BF700410030"
                        "0031003553F75230003353F77A9753E3529E74063002")


def test_three_part_vector_headers() -> None:
    parts = pdu.submit_pdus("+8613800138000", "预约提醒：" + "请携带身份证原件及复印件。" * 11, reference=0x2A)
    assert [p.tpdu_length for p in parts] == [155, 155, 49]
    assert [p.hex[:44] for p in parts] == [
        "0071000D91683108108300F00008A78C0500032A0301",
        "0071000D91683108108300F00008A78C0500032A0302",
        "0071000D91683108108300F00008A7220500032A0303",
    ]
