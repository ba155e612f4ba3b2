"""hallq's ESC/POS bytes against python-escpos' ``Dummy`` printer, the independent reference.

Where python-escpos is right (init, cut, alignment, sizes, native QR, raster packing,
DLE EOT) the bytes must be equal; for GB18030 text hallq keeps its own builder,
because python-escpos prints text made only of CJK punctuation as ``?``
(docs/protocols/escpos.md, "python-escpos as the reference").
"""

from __future__ import annotations

import logging

import pytest
from escpos import constants as escpos_constants  # python-escpos, in the test extra
from escpos import printer as escpos_printer
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from drivers.printer import escpos

logging.getLogger("escpos").setLevel(logging.ERROR)  # "media.width.pixel … not set" is about centring


def dummy() -> object:
    """A fresh python-escpos Dummy printer."""
    return escpos_printer.Dummy()


def test_init_matches() -> None:
    d = dummy()
    d.hw("INIT")
    assert escpos.init() == d.output


@pytest.mark.parametrize(("partial", "mode"), [(False, "FULL"), (True, "PART")])
def test_cut_matches(partial: bool, mode: str) -> None:
    d = dummy()
    d.cut(mode=mode)  # python-escpos feeds 6 lines (ESC d 6) before GS V m
    assert escpos.feed(6) + escpos.cut(partial) == d.output


@pytest.mark.parametrize("where", ["left", "center", "right"])
def test_alignment_matches(where: str) -> None:
    d = dummy()
    d.set(align=where)
    assert escpos.align(where) == d.output  # type: ignore[arg-type]


@pytest.mark.parametrize("width", range(1, 9))
@pytest.mark.parametrize("height", range(1, 9))
def test_character_sizes_match(width: int, height: int) -> None:
    d = dummy()
    d.set(custom_size=True, width=width, height=height)
    assert escpos.size(width, height) == d.output


@settings(max_examples=50, deadline=None)
@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80),
       st.integers(1, 16))
def test_native_qr_matches(data: str, module: int) -> None:
    d = dummy()
    d.qr(data, size=module, native=True, ec=escpos_constants.QR_ECLEVEL_L)
    assert escpos.qr_native(data, module, "L") == d.output


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.randoms(use_true_random=False))
def test_raster_packing_matches(width_bytes: int, height: int, rnd: object) -> None:
    width = width_bytes * 8
    dots = [[rnd.random() < 0.5 for _ in range(width)] for _ in range(height)]  # type: ignore[attr-defined]
    img = Image.new("1", (width, height), 1)
    rows = bytearray()
    for y, row in enumerate(dots):
        line = bytearray(width_bytes)
        for x, dark in enumerate(row):
            if dark:
                img.putpixel((x, y), 0)
                line[x >> 3] |= 0x80 >> (x & 7)
        rows += line
    d = dummy()
    d.image(img, impl="bitImageRaster", center=False)
    assert escpos.raster(width, height, bytes(rows)) == d.output


def test_dle_eot_queries_match() -> None:
    assert escpos.status_query(1) == escpos_constants.RT_STATUS_ONLINE
    assert escpos.status_query(4) == escpos_constants.RT_STATUS_PAPER
    assert all(escpos.status_query(n) == escpos_constants.RT_STATUS + bytes([n]) for n in (1, 2, 3, 4))


def test_cjk_punctuation_is_where_hallq_keeps_its_own_builder() -> None:
    punctuation = "，（）：。"
    d = dummy()
    d.text(punctuation)
    assert b"?" * len(punctuation) in d.output  # the reference loses it
    assert escpos.text(punctuation) == punctuation.encode("gb18030") == bytes.fromhex("a3aca3a8a3a9a3baa1a3")
    assert b"?" not in escpos.text(punctuation)
