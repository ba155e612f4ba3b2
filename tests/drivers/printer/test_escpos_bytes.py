"""Golden bytes (docs/protocols/escpos.md) and the ticket layout."""

from __future__ import annotations

import datetime as dt

import pytest

from drivers.contract import TicketContent
from drivers.printer import escpos
from drivers.printer.escpos import PrinterProfile, ticket_bytes, wrap
from drivers.printer.parser import EscposParser
from drivers.printer.render import Page

QR_A001 = bytes.fromhex(
    "1d 28 6b 04 00 31 41 32 00 1d 28 6b 03 00 31 43 06 1d 28 6b 03 00 31 45 30 "
    "1d 28 6b 07 00 31 50 30 41 30 30 31 1d 28 6b 03 00 31 51 30"
)
CALL_GB18030 = bytes.fromhex("bd d0 ba c5 20 41 30 30 31 20 c7 eb b5 bd 33 ba c5 b4 b0 bf da 0a")

TICKET = TicketContent(
    hall_name="示范区政务服务中心", service_name="社会保障", number="B012", ahead=7, eta_minutes=25,
    issued_at=dt.datetime(2026, 11, 27, 9, 31, 5), qr_url="http://127.0.0.1:8000/t/Zx9_token",
    notice="社保参保登记、社会保障卡申领补换、养老保险待遇申领：身份证原件；补换卡另带近期一寸白底照片（可现场拍照）。",
)


def test_native_qr_golden() -> None:
    assert escpos.qr_native("A001", module_size=6, ec="L") == QR_A001


def test_gb18030_text_golden() -> None:
    assert escpos.text("叫号 A001 请到3号窗口\n", "gb18030") == CALL_GB18030


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (escpos.init(), "1b 40"),
        (escpos.align("left"), "1b 61 00"),
        (escpos.align("center"), "1b 61 01"),
        (escpos.align("right"), "1b 61 02"),
        (escpos.size(1, 1), "1d 21 00"),
        (escpos.size(4, 4), "1d 21 33"),
        (escpos.size(8, 2), "1d 21 71"),
        (escpos.bold(True), "1b 45 01"),
        (escpos.bold(False), "1b 45 00"),
        (escpos.feed(3), "1b 64 03"),
        (escpos.cut(), "1d 56 00"),
        (escpos.cut(partial=True), "1d 56 01"),
        (escpos.status_query(4), "10 04 04"),
        (escpos.chinese_mode(True), "1c 26"),
        (escpos.chinese_mode(False), "1c 2e"),
    ],
)
def test_command_bytes(built: bytes, expected: str) -> None:
    assert built == bytes.fromhex(expected)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        escpos.size(9, 1)
    with pytest.raises(ValueError):
        escpos.status_query(5)


def test_chinese_mode_wraps_only_non_ascii_text() -> None:
    assert escpos.text("A001", chinese_mode_cmd=True) == b"A001"
    assert escpos.text("号", "gbk", chinese_mode_cmd=True) == b"\x1c\x26" + "号".encode("gbk") + b"\x1c\x2e"


def test_big5_prints_missing_simplified_characters_as_question_marks() -> None:
    assert escpos.text("台", "big5") == "台".encode("big5")
    assert escpos.text("号", "big5") == b"?"


def test_wrap_counts_cjk_as_two_columns_and_keeps_punctuation_off_line_starts() -> None:
    lines = wrap("一二三四五六七八九十，ab", 20)
    assert lines == ["一二三四五六七八九", "十，ab"]
    assert all(escpos.text_columns(line) <= 20 for line in wrap(TICKET.notice, 20))
    assert wrap("甲\n乙", 10) == ["甲", "乙"]


def _page(data: bytes, columns: int) -> Page:
    parser = EscposParser("gb18030")
    page = Page(columns)
    for op in parser.feed(data):
        if op.name != "cut":
            page.apply(op)
    page.finish()
    return page


@pytest.mark.parametrize(("paper", "columns"), [(58, 32), (80, 48)])
def test_ticket_layout_fits_the_paper(paper: int, columns: int) -> None:
    profile = PrinterProfile(paper_mm=paper)  # type: ignore[arg-type]
    data = ticket_bytes(TICKET, profile)
    assert data.startswith(escpos.init()) and data.endswith(escpos.cut())
    page = _page(data, columns)
    assert page.overflow == 0
    text = page.text()
    for needle in ("示范区政务服务中心", "社会保障", "B012", "前面还有 7 人", "预计等待 25 分钟",
                   "取号时间：2026-11-27 09:31:05", "[二维码 http://127.0.0.1:8000/t/Zx9_token]", "一次告知"):
        assert needle in text, needle
    # the number is printed large
    number = next(b for b in page.blocks if b.kind == "line" and b.runs[0].text == "B012")
    assert number.runs[0].width >= 4 and number.runs[0].height >= 4
    printed = [line for line in text.splitlines() if not line.lstrip().startswith("[")]
    assert max(escpos.text_columns(line) for line in printed) <= columns


def test_ticket_without_wait_estimate_or_notice() -> None:
    ticket = TicketContent("大厅", "户籍", "F001", None, None, dt.datetime(2026, 1, 5, 8, 0), "")
    text = _page(ticket_bytes(ticket), 48).text()
    assert "前面还有" not in text and "预计等待" not in text and "二维码" not in text and "一次告知" not in text


def test_raster_qr_fallback_prints_an_image() -> None:
    data = ticket_bytes(TICKET, PrinterProfile(qr="raster"))
    assert b"\x1d(k" not in data and b"\x1dv0" in data
    page = _page(data, 48)
    images = [b for b in page.blocks if b.kind == "image"]
    assert len(images) == 1 and images[0].label.startswith("[图像")
    picture = images[0].picture()
    assert picture is not None and 100 < picture.width <= 576


def test_raster_qr_decodes_to_the_same_matrix() -> None:
    import qrcode

    data = escpos.qr_raster("http://x/t/abc", module_size=1)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=1, border=2)
    qr.add_data("http://x/t/abc")
    qr.make(fit=True)
    matrix = qr.get_matrix()
    ops = EscposParser().feed(data)
    assert [op.name for op in ops] == ["raster"]
    width, height, rows = ops[0].args
    assert height == len(matrix)
    row_bytes = width // 8
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            assert bool(rows[y * row_bytes + x // 8] & (0x80 >> (x % 8))) == dark


def test_wrap_keeps_opening_brackets_off_line_ends() -> None:
    lines = wrap("一二三四五六七八（九）", 18)
    assert lines == ["一二三四五六七八", "（九）"]
