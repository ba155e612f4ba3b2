"""ESC/POS byte builder: pure functions from content to printer bytes (no I/O).

Facts and golden vectors: docs/protocols/escpos.md. Text is encoded per printer
(gb18030 default, gbk, big5); characters the encoding lacks print as ``?``. The QR
code is sized to the paper (docs/protocols/escpos.md, "QR width"): the module size
is the largest one up to the configured ``qr_size`` at which the symbol and its quiet
zone fit the printable width (58 mm: 384 dots = 48 bytes, 80 mm: 576 dots = 72 bytes).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from drivers.contract import TicketContent

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
LF = b"\n"

Encoding = Literal["gb18030", "gbk", "big5"]
QrMode = Literal["native", "raster"]

_ALIGN = {"left": 0, "center": 1, "right": 2}
_EC = {"L": 0, "M": 1, "Q": 2, "H": 3}
# Font A: 12 x 24 dots per half-width column; the printable width in dots per paper.
DOTS_PER_COLUMN = 12
PAPER_DOTS = {58: 384, 80: 576}


@dataclass(frozen=True)
class PrinterProfile:
    """What differs between ticket printers: encoding, paper, QR path, Chinese-mode commands."""

    encoding: Encoding = "gb18030"
    paper_mm: Literal[58, 80] = 80
    qr: QrMode = "native"
    chinese_mode_cmd: bool = False
    qr_size: int = 6

    @property
    def columns(self) -> int:
        """Half-width columns per line at size 1 (58 mm: 32, 80 mm: 48)."""
        return PAPER_DOTS[self.paper_mm] // DOTS_PER_COLUMN

    @property
    def dots(self) -> int:
        """Printable width in dots."""
        return PAPER_DOTS[self.paper_mm]


# --- single commands -------------------------------------------------------------------


def init() -> bytes:
    """ESC @: reset modes (not the buffer of received data)."""
    return ESC + b"@"


def align(where: Literal["left", "center", "right"]) -> bytes:
    """ESC a n."""
    return ESC + b"a" + bytes([_ALIGN[where]])


def size(width: int = 1, height: int = 1) -> bytes:
    """GS ! n with n = (w-1)<<4 | (h-1); w, h in 1..8."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size must be 1..8, got {width}x{height}")
    return GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])


def bold(on: bool = True) -> bytes:
    """ESC E n."""
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def feed(lines: int = 1) -> bytes:
    """ESC d n: print the buffer and feed n lines."""
    return ESC + b"d" + bytes([max(0, min(255, lines))])


def cut(partial: bool = False) -> bytes:
    """GS V 0/1: full or partial cut."""
    return GS + b"V" + (b"\x01" if partial else b"\x00")


def chinese_mode(on: bool) -> bytes:
    """FS & enters, FS . leaves Chinese character mode (only printers that need it)."""
    return FS + (b"&" if on else b".")


def status_query(n: int) -> bytes:
    """DLE EOT n: real-time status (1 printer, 2 offline cause, 3 error cause, 4 paper)."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT n must be 1..4, got {n}")
    return DLE + b"\x04" + bytes([n])


def encode_text(text: str, encoding: Encoding = "gb18030") -> bytes:
    """Encode text for the printer; unknown characters become ``?``."""
    return text.encode(encoding, errors="replace")


def text(value: str, encoding: Encoding = "gb18030", chinese_mode_cmd: bool = False) -> bytes:
    """Text bytes, wrapped in FS & … FS . when the printer needs it and the text is not ASCII."""
    data = encode_text(value, encoding)
    if chinese_mode_cmd and not value.isascii():
        return chinese_mode(True) + data + chinese_mode(False)
    return data


def _qr_fn(fn: int, payload: bytes) -> bytes:
    length = len(payload) + 2  # cn + fn
    return GS + b"(k" + bytes([length & 0xFF, length >> 8, 0x31, fn]) + payload


def qr_native(data: str | bytes, module_size: int = 6, ec: Literal["L", "M", "Q", "H"] = "L") -> bytes:
    """Native QR model 2: select model, module size, EC level, store data, print."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not 1 <= module_size <= 16:
        raise ValueError("QR module size must be 1..16")
    if len(raw) > 7089:
        raise ValueError("QR data too long")
    return (
        _qr_fn(0x41, b"\x32\x00")
        + _qr_fn(0x43, bytes([module_size]))
        + _qr_fn(0x45, bytes([0x30 + _EC[ec]]))
        + _qr_fn(0x50, b"\x30" + raw)
        + _qr_fn(0x51, b"\x30")
    )


def raster(width: int, height: int, rows: bytes, mode: int = 0) -> bytes:
    """GS v 0: a 1-bit image, ``rows`` = height * ceil(width/8) bytes, MSB = leftmost dot."""
    row_bytes = (width + 7) // 8
    if len(rows) != row_bytes * height:
        raise ValueError("raster data does not match its size")
    return GS + b"v0" + bytes([mode, row_bytes & 0xFF, row_bytes >> 8, height & 0xFF, height >> 8]) + rows


# Quiet zone, in modules, on each side of the QR symbol: drawn into the raster image;
# for native QR the printer's own margin is unknown, so the standard's 4 modules are assumed.
QR_BORDER = 2
NATIVE_QR_BORDER = 4


def qr_modules(data: str | bytes) -> int:
    """Modules per side of the smallest model-2 QR (EC level L) holding ``data``, quiet zone excluded."""
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=1, border=0)
    qr.add_data(data)
    qr.make(fit=True)
    return len(qr.get_matrix())


def qr_fit(data: str | bytes, wanted: int, dots: int, border: int = QR_BORDER) -> int:
    """The largest module size <= ``wanted`` at which the QR and its quiet zone fit ``dots``; 0: none."""
    side = qr_modules(data) + 2 * border
    return max(0, min(wanted, dots // side))


def qr_raster(data: str, module_size: int = 6) -> bytes:
    """The QR code rendered by the ``qrcode`` package and sent as a GS v 0 raster image."""
    import qrcode  # only printers without native QR need it

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=1, border=QR_BORDER)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # list of rows of bools, border included
    width = len(matrix[0]) * module_size
    row_bytes = (width + 7) // 8
    out = bytearray()
    for row in matrix:
        line = bytearray(row_bytes)
        for x, dark in enumerate(row):
            if dark:
                for dx in range(module_size):
                    px = x * module_size + dx
                    line[px >> 3] |= 0x80 >> (px & 7)
        out += bytes(line) * module_size
    return raster(width, len(matrix) * module_size, bytes(out))


# --- text layout -----------------------------------------------------------------------


def char_columns(ch: str) -> int:
    """Half-width columns a character takes on a Chinese printer.

    ASCII prints in a 12-dot cell; every other character goes out as a double-byte
    GB code and prints in a 24-dot cell, including ambiguous-width ones such as “”.
    """
    if ch.isascii():
        return 1
    return 1 if unicodedata.east_asian_width(ch) == "H" else 2


def text_columns(value: str) -> int:
    """Columns a string takes at size 1."""
    return sum(char_columns(c) for c in value)


# 禁则: a line must not start with closing punctuation (it pulls the previous char down)
# nor end with opening punctuation (it moves to the next line).
_NO_LINE_START = set("，。、；：！？）》」』】〕”’,.;:!?)%")
_NO_LINE_END = set("（《「『【〔“‘(")


def wrap(value: str, columns: int) -> list[str]:
    """Wrap text to ``columns`` half-width columns; keeps explicit newlines."""
    lines: list[str] = []
    for paragraph in value.replace("\r\n", "\n").split("\n"):
        line, used = "", 0
        for ch in paragraph:
            w = char_columns(ch)
            if used + w > columns and line:
                if (ch in _NO_LINE_START or line[-1] in _NO_LINE_END) and len(line) > 1:
                    carry, line = line[-1], line[:-1]
                    lines.append(line)
                    line, used = carry, char_columns(carry)
                else:
                    lines.append(line)
                    line, used = "", 0
            line += ch
            used += w
        lines.append(line)
    return lines


# --- the ticket ----------------------------------------------------------------------------

# the kiosk passes the hall's own 过号 sentence (displays/wording.py); this is only the last resort
DEFAULT_FOOTER = "请留意叫号"


class _Doc:
    """Accumulates ticket bytes with the profile's text encoding."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.out = bytearray()

    def raw(self, data: bytes) -> None:
        self.out += data

    def line(self, value: str = "", *, scale: int = 1, wide: int | None = None, strong: bool = False) -> None:
        """Print text lines at a size, wrapped to the paper width at that size."""
        w = wide or scale
        self.out += size(w, scale) + bold(strong)
        for part in wrap(value, max(1, self.profile.columns // w)) if value else [""]:
            self.out += text(part, self.profile.encoding, self.profile.chinese_mode_cmd) + LF
        self.out += size(1, 1) + bold(False)


def qr_bytes(data: str, profile: PrinterProfile) -> bytes:
    """The QR for ``data`` at the largest module size that fits the paper; b"" when none does.

    Native QR first; when no native module size fits (the symbol is wider than the paper
    even at size 1 with the assumed quiet zone) the raster path is tried, and when that
    does not fit either the QR is left out rather than printed cut off.
    """
    try:
        if profile.qr == "native" and (size := qr_fit(data, profile.qr_size, profile.dots, NATIVE_QR_BORDER)):
            return qr_native(data, size)
        if size := qr_fit(data, profile.qr_size, profile.dots):
            return qr_raster(data, size)
    except Exception:  # qrcode.exceptions.DataOverflowError: too long for any QR version
        return b""
    return b""


def _fits(value: str, columns: int, scale: int) -> bool:
    return text_columns(value) * scale <= columns


def ticket_bytes(ticket: TicketContent, profile: PrinterProfile | None = None) -> bytes:
    """The whole ticket: header, large number, wait, time, QR, 一次告知 notice, footer, cut."""
    p = profile or PrinterProfile()
    doc = _Doc(p)
    cols = p.columns
    doc.raw(init())
    doc.raw(align("center"))
    doc.line(ticket.hall_name, scale=2 if _fits(ticket.hall_name, cols, 2) else 1, strong=True)
    doc.line(ticket.service_name, scale=2 if _fits(ticket.service_name, cols, 2) else 1, strong=True)
    doc.line("-" * cols)
    doc.line("您的号码")
    number_scale = max(1, min(6 if p.paper_mm == 80 else 5, cols // max(1, text_columns(ticket.number))))
    doc.line(ticket.number, scale=number_scale, strong=True)
    if ticket.masked_name:
        doc.line(ticket.masked_name)
    if ticket.ahead is not None:
        doc.line(f"前面还有 {ticket.ahead} 人", scale=2 if _fits(f"前面还有 {ticket.ahead} 人", cols, 2) else 1)
    if ticket.eta_text:
        doc.line(ticket.eta_text)
    elif ticket.eta_minutes is not None:
        doc.line(f"预计等待 {ticket.eta_minutes} 分钟")
    if ticket.window_hint:
        doc.line(ticket.window_hint)
    doc.line(f"取号时间：{ticket.issued_at:%Y-%m-%d %H:%M:%S}")
    qr = qr_bytes(ticket.qr_url, p) if ticket.qr_url else b""
    if qr:
        doc.raw(feed(1))
        doc.raw(qr)
        doc.line("扫码查看进度，办结后可评价")  # the QR opens /t/<token>: progress, then the rating
    if ticket.notice:
        doc.raw(align("left"))
        doc.line("-" * cols)
        doc.line("一次告知（请备齐以下材料）：", strong=True)
        doc.line(ticket.notice.strip())
        doc.raw(align("center"))
    doc.line("-" * cols)
    doc.line(ticket.footer or DEFAULT_FOOTER)
    doc.raw(feed(4))
    doc.raw(cut(partial=False))
    return bytes(doc.out)
