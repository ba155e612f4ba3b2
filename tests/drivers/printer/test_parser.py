"""The simulator's ESC/POS stream parser: chunking, resync, random bytes."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.contract import TicketContent
from drivers.printer import escpos
from drivers.printer.parser import EscposParser, Op
from drivers.printer.render import Page

TICKET = escpos.ticket_bytes(TicketContent("大厅", "不动产登记", "E105", 3, 40, dt.datetime(2026, 3, 2, 10, 0),
                                           "http://h/t/tok", notice="买卖双方身份证、不动产权证书原件。"))


def _parse_chunks(data: bytes, cuts: list[int]) -> list[Op]:
    parser = EscposParser("gb18030")
    ops: list[Op] = []
    last = 0
    for cut in sorted(set(cuts)):
        ops += parser.feed(data[last:cut])
        last = cut
    ops += parser.feed(data[last:])
    return ops + parser.flush()


def test_parses_the_command_set() -> None:
    data = (escpos.init() + escpos.align("center") + escpos.bold() + escpos.size(2, 3) + escpos.text("叫号")
            + b"\n" + escpos.status_query(2) + escpos.qr_native("A1", 4) + escpos.feed(2) + escpos.cut(True)
            + escpos.chinese_mode(True) + escpos.raster(8, 1, b"\xff"))
    ops = EscposParser().feed(data)
    assert ops == [
        Op("init"), Op("align", ("center",)), Op("bold", (True,)), Op("size", (2, 3)), Op("text", ("叫号",)),
        Op("lf"), Op("status", (2,)), Op("qr_model", (0x32,)), Op("qr_size", (4,)), Op("qr_ec", (0x30,)),
        Op("qr_store", (b"A1",)), Op("qr_print"), Op("feed", (2,)), Op("cut", (True,)), Op("chinese", (True,)),
        Op("raster", (8, 1, b"\xff")),
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(TICKET)), max_size=12))
def test_any_chunking_gives_the_same_operations(cuts: list[int]) -> None:
    assert _parse_chunks(TICKET, cuts) == _parse_chunks(TICKET, [])


def test_unknown_commands_are_skipped_and_parsing_resyncs() -> None:
    # ESC/GS with an unknown command byte, and a raster header far too large to wait for
    ops = EscposParser().feed(b"\x1b\x01A\n\x1d\x02B\n\x1dv0\x00\xff\xff\xff\xffC\n")
    texts = [op.args[0] for op in ops if op.name == "text"]
    assert texts[0] == "A" and texts[1] == "B" and texts[-1].endswith("C")
    assert [op.name for op in ops].count("lf") == 3


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["gb18030", "gbk", "big5"]))
def test_random_bytes_never_raise(data: bytes, encoding: str) -> None:
    parser = EscposParser(encoding)
    page = Page(32)
    for op in parser.feed(data) + parser.feed(data[::-1]) + parser.flush():
        if op.name not in ("cut", "status"):
            page.apply(op)
    page.finish()
    page.text()


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_inside_a_ticket_still_render(noise: bytes) -> None:
    parser = EscposParser()
    page = Page(48)
    for op in parser.feed(TICKET[:200] + noise + TICKET[200:]) + parser.flush():
        if op.name not in ("cut", "status"):
            page.apply(op)
    page.finish()
    assert page.png().startswith(b"\x89PNG")
