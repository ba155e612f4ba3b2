"""The serial QR scanner: line parsing (with fuzzing) and the driver against its simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.registry import build
from drivers.scanner.codec import MAX_LINE, LineParser, Scan, encode_line
from drivers.scanner.driver import REJECTED_LINES, ScanEvent, SerialScanner
from drivers.scanner.simulator import ScannerSimulator
from tests.support.polling import until

CODE = "HQ-20261202-7K3P"


def test_terminators() -> None:
    assert LineParser().feed(b"A1\rB2\r\nC3\n") == [Scan("A1", None, b"A1"), Scan("B2", None, b"B2"),
                                                     Scan("C3", None, b"C3")]  # fmt: skip
    assert [s.text for s in LineParser("lf").feed(b"A1\r\nB2\n")] == ["A1", "B2"]
    assert [s.text for s in LineParser("cr").feed(b"A1\nB2\r")] == ["A1\nB2"]  # a multi-line QR (vCard) stays one
    parser = LineParser("crlf")
    assert parser.feed(b"X\r") == [Scan("X", None, b"X")] and parser.feed(b"\nY\r\n")[0].text == "Y"


def test_aim_identifier_chinese_and_gb18030() -> None:
    (scan,) = LineParser(aim_ids=True).feed(encode_line("https://hall.example/b/7K3P", aim="]Q1"))
    assert (scan.text, scan.symbology) == ("https://hall.example/b/7K3P", "qr")
    assert LineParser().feed("预约码7K3P\r".encode("gb18030"))[0].text == "预约码7K3P"


def test_noise_is_dropped_and_counted() -> None:
    parser = LineParser()
    assert parser.feed(b"\x00\x07x\r" + b"#" * (MAX_LINE + 5) + b"\rOK1\r") == [Scan("OK1", None, b"OK1")]
    assert parser.dropped == 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20), st.sampled_from(["auto", "cr", "lf", "crlf"]), st.booleans())
def test_parser_never_raises(chunks: list[bytes], terminator: str, aim: bool) -> None:
    parser = LineParser(terminator, aim_ids=aim)  # type: ignore[arg-type]
    for chunk in chunks:
        for scan in parser.feed(chunk):
            assert scan.text and "\r" not in scan.text and len(scan.raw) <= MAX_LINE


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=200).filter(str.strip))
def test_line_round_trip(text: str) -> None:
    assert [s.text for s in LineParser().feed(encode_line(text))] == [text.strip()]


@pytest.fixture(params=["socket", "pty"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ScannerSimulator, SerialScanner]]:
    sim = ScannerSimulator("scanner-k1")
    url = await sim.start() if request.param == "socket" else await sim.start_pty()
    scanner = build("scanner-k1", "code_scanner", "serial_scanner", url, {"dedup_seconds": 30})
    await scanner.open()
    assert await scanner.wait_ready(3.0)
    await until(lambda: sim.state()["connected"] or request.param == "pty")
    yield sim, scanner
    await scanner.close()
    await sim.stop()


async def next_event(events: AsyncIterator[ScanEvent]) -> ScanEvent:
    return await asyncio.wait_for(anext(events), 3.0)


async def test_a_scan_is_one_event_and_a_repeat_is_not(pair: tuple[ScannerSimulator, SerialScanner]) -> None:
    sim, scanner = pair
    events = scanner.events()
    await sim.act("scan", {"text": CODE})
    event = await next_event(events)
    assert (event.device_id, event.text) == ("scanner-k1", CODE)
    await sim.act("scan", {"text": CODE, "terminator": "crlf"})  # held under the window: same code again
    await sim.act("scan", {"text": "HQ-OTHER"})
    assert (await next_event(events)).text == "HQ-OTHER"
    assert scanner.scans == 2
    await events.aclose()


async def test_garbage_is_counted_and_the_code_still_arrives(pair: tuple[ScannerSimulator, SerialScanner]) -> None:
    sim, scanner = pair
    events = scanner.events()
    sim.inject("garbage")
    await sim.act("scan", {"text": CODE})
    assert (await next_event(events)).text == CODE
    await until(lambda: scanner.health.counters.get(REJECTED_LINES, 0) >= 2)
    await events.aclose()
