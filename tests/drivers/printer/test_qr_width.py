"""The ticket's QR code fits the paper at every allowed module size (docs/protocols/escpos.md, "QR width")."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.contract import TicketContent
from drivers.printer.escpos import (
    NATIVE_QR_BORDER,
    PAPER_DOTS,
    QR_BORDER,
    PrinterProfile,
    qr_bytes,
    qr_fit,
    qr_modules,
    ticket_bytes,
)
from drivers.printer.escpos_driver import EscposOptions
from drivers.printer.parser import EscposParser, Op

URL = "https://hall.example.gov.cn/t/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5"
SIZES = range(1, EscposOptions.model_fields["qr_size"].metadata[1].le + 1)  # type: ignore[attr-defined]


def _ticket(url: str = URL) -> TicketContent:
    return TicketContent(hall_name="示范区政务服务中心", service_name="综合受理", number="A007", ahead=2,
                         eta_minutes=9, issued_at=dt.datetime(2026, 11, 27, 10, 5), qr_url=url)


def _qr_ops(data: bytes) -> list[Op]:
    return [op for op in EscposParser().feed(data) if op.name in ("qr_size", "qr_store", "qr_print", "raster")]


def _printed_width(data: bytes, url: str) -> tuple[str, int]:
    """('native' | 'raster', width in dots including the quiet zone) of the QR in a ticket's bytes."""
    ops = _qr_ops(data)
    rasters = [op for op in ops if op.name == "raster"]
    if rasters:
        (width_dots, _rows, _bits), = (op.args for op in rasters)
        return "raster", width_dots
    (module,), = (op.args for op in ops if op.name == "qr_size")
    return "native", (qr_modules(url) + 2 * NATIVE_QR_BORDER) * module


def test_every_allowed_size_is_1_to_16() -> None:
    assert list(SIZES) == list(range(1, 17))


@pytest.mark.parametrize("paper", [58, 80])
@pytest.mark.parametrize("mode", ["native", "raster"])
@pytest.mark.parametrize("module", SIZES)
def test_qr_fits_the_paper_at_every_module_size(paper: int, mode: str, module: int) -> None:
    profile = PrinterProfile(paper_mm=paper, qr=mode, qr_size=module)  # type: ignore[arg-type]
    data = ticket_bytes(_ticket(), profile)
    path, width = _printed_width(data, URL)
    assert width <= PAPER_DOTS[paper]
    if path == "raster":
        assert (width + 7) // 8 <= {58: 48, 80: 72}[paper]  # the raster row never exceeds the paper's bytes
    # the largest module that fits is used, never more than asked
    side = qr_modules(URL) + 2 * (NATIVE_QR_BORDER if path == "native" else QR_BORDER)
    used = width // side
    assert used == min(module, PAPER_DOTS[paper] // side)


def test_a_large_module_is_clamped_not_cut_off() -> None:
    side = qr_modules(URL) + 2 * QR_BORDER
    assert side * 16 > PAPER_DOTS[58]  # unclamped, module 16 would be cut off on 58 mm
    assert qr_fit(URL, 16, PAPER_DOTS[58]) == PAPER_DOTS[58] // side < 16
    assert qr_fit(URL, 3, PAPER_DOTS[58]) == 3  # a size that fits is kept


def test_native_falls_back_to_raster_when_no_native_size_fits() -> None:
    # 40 dots wide paper (hypothetical) for a 21-module code: native needs 29 dots/module, raster 25
    long = "A" * 10
    assert qr_modules(long) == 21
    assert qr_fit(long, 6, 28, NATIVE_QR_BORDER) == 0 and qr_fit(long, 6, 28) == 1


def test_data_too_long_for_any_qr_is_left_out() -> None:
    profile = PrinterProfile(paper_mm=58, qr="native", qr_size=6)
    assert qr_bytes("x" * 3000, profile) == b""
    assert b"\x1d(k" not in ticket_bytes(_ticket("x" * 3000), profile)


@settings(max_examples=40, deadline=None)
@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=300),
       st.sampled_from([58, 80]), st.sampled_from(["native", "raster"]), st.integers(1, 16))
def test_any_url_fits(url: str, paper: int, mode: str, module: int) -> None:
    profile = PrinterProfile(paper_mm=paper, qr=mode, qr_size=module)  # type: ignore[arg-type]
    data = qr_bytes(url, profile)
    assert data  # ≤ 300 ASCII chars always fits somewhere
    _path, width = _printed_width(data, url)
    assert width <= PAPER_DOTS[paper]
