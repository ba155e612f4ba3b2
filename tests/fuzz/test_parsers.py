"""Every byte parser, fed random and mutated input: no exception but the codec's own, and it resynchronises.

CI runs a short version; the long one (10⁵ inputs per parser) is::

    HALLQ_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/fuzz -q -p no:randomly

Each stream parser gets noise (random bytes, or a valid frame with bytes flipped, cut,
duplicated or spliced) in random chunks, and must then decode valid frames that follow.
"Resynchronised" means: after the noise, of three valid frames sent back to back, the
parser returns at least the last one intact — a frame lost to a header the noise left
half-open is allowed, a parser stuck for good is not.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.errors import ProtocolError
from drivers.gsm import codec as at
from drivers.gsm import pdu
from drivers.idcard import codec as sam
from drivers.keypad import codec as keypad
from drivers.led import codec as bx5
from drivers.led import codec6 as bx6
from drivers.printer.parser import EscposParser
from drivers.scanner.codec import LineParser

EXAMPLES = int(os.environ.get("HALLQ_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 1000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


INPUTS: Counter[str] = Counter()  # inputs fed per parser in this run (printed as JSON at the end)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """Print what the run fed each parser (the long run's record: ``-s`` shows it)."""
    start = time.monotonic()
    yield
    print(json.dumps({"fuzz": {"examples_setting": EXAMPLES, "inputs": dict(sorted(INPUTS.items())),
                               "seconds": round(time.monotonic() - start, 1)}}, ensure_ascii=False))


@dataclass(frozen=True)
class Stream:
    """A stream parser under test: how to make one, one valid frame, and how to tell it came out."""

    name: str
    make: Callable[[], Any]
    frame: bytes
    matches: Callable[[Any], bool]


STREAMS = [
    Stream("sam-response", sam.FrameParser, sam.build_response(0x90, b"\x01\x02\x03"),
           lambda f: isinstance(f, sam.Response) and f.data == b"\x01\x02\x03"),
    Stream("sam-request", sam.RequestParser, sam.build_request(sam.Command.READ),
           lambda f: isinstance(f, sam.Request)),
    Stream("ff68-keypad", keypad.KeypadParser, keypad.key_frame(5, "call_next"),
           lambda f: keypad.caller_key(f) == "call_next" and f.address == 5),
    Stream("onbon-bx5", bx5.BxParser, bx5.ping(1), lambda f: isinstance(f, bx5.BxFrame) and f.dst == 1),
    Stream("onbon-bx6", bx6.Bx6Parser, bx6.delete_areas(1, (1,)),
           lambda f: isinstance(f, bx6.Bx6Frame)),
    Stream("at-modem", at.AtParser, b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n",
           lambda f: isinstance(f, at.Final) and f.ok and f.lines == ("+CSQ: 20,0",)),
    Stream("qr-scanner", LineParser, b"AB12CD34\r\n", lambda f: getattr(f, "text", None) == "AB12CD34"),
]


@st.composite
def noise(draw: st.DrawFn, frame: bytes) -> bytes:
    """Random bytes, or the valid frame mutated (bytes flipped, cut, doubled, spliced with random bytes)."""
    kind = draw(st.sampled_from(["random", "flip", "cut", "splice", "double"]))
    if kind == "random":
        return draw(st.binary(max_size=600))
    data = bytearray(frame)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "cut":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if kind == "double":
        return bytes(data[: draw(st.integers(1, len(data)))]) * 2
    at_ = draw(st.integers(0, len(data)))
    return bytes(data[:at_]) + draw(st.binary(max_size=64)) + bytes(data[at_:])


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """Split ``data`` at the given offsets (the serial line delivers arbitrary pieces)."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in points:
        out.append(data[last:p])
        last = p
    out.append(data[last:])
    return out


@pytest.mark.parametrize("stream", STREAMS, ids=[s.name for s in STREAMS])
def test_the_golden_frame_decodes(stream: Stream) -> None:
    """The fixtures are right: a clean parser decodes the valid frame (else the fuzz below proves nothing)."""
    frames = stream.make().feed(stream.frame)
    assert len(frames) == 1 and stream.matches(frames[0]), frames


@pytest.mark.parametrize("stream", STREAMS, ids=[s.name for s in STREAMS])
def test_noise_never_raises_and_the_parser_resynchronises(stream: Stream) -> None:
    @FUZZ
    @given(junk=st.lists(noise(stream.frame), max_size=4), cuts=st.lists(st.integers(0, 4000), max_size=8))
    def run(junk: list[bytes], cuts: list[int]) -> None:
        INPUTS[stream.name] += 1
        parser = stream.make()
        for piece in chunks(b"".join(junk), cuts):
            parser.feed(piece)  # any exception here fails the test: parsers count bad input, never raise
        if stream.name == "at-modem":
            parser.feed(b"\r\n")  # a modem line ends at CR LF: noise may leave half a line open
        out: list[Any] = []
        for piece in chunks(stream.frame * 3, cuts):
            out += parser.feed(piece)
        assert out and stream.matches(out[-1]), (stream.name, out[-3:])

    run()


@FUZZ
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 4000), max_size=8))
def test_escpos_stream_never_raises(data: bytes, cuts: list[int]) -> None:
    """ESC/POS has no framing to resynchronise on; the printer simulator's parser must still never raise."""
    INPUTS["escpos"] += 1
    parser = EscposParser()
    for piece in chunks(data, cuts):
        parser.feed(piece)
    parser.flush()


@FUZZ
@given(data=st.binary(max_size=200))
def test_sms_pdus_raise_only_pdu_errors(data: bytes) -> None:
    """Status reports and submits from a modem: a bad PDU is a ProtocolError, never anything else."""
    INPUTS["sms-pdu"] += 1
    for decode in (pdu.decode_status_report, pdu.decode_submit):
        with contextlib.suppress(ProtocolError):
            decode(data.hex())


@FUZZ
@given(data=st.binary(max_size=300))
def test_single_frame_decoders_raise_only_their_own_errors(data: bytes) -> None:
    """The whole-frame decoders (used on a frame the splitter cut out) raise only ProtocolError."""
    INPUTS["whole-frame-decoders"] += 1
    for decode in (bx5.decode, bx6.decode, sam.parse_response):
        with contextlib.suppress(ProtocolError):
            decode(data)
