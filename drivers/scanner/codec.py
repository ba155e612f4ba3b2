"""Kiosk QR/barcode scanner lines (serial "COM port emulation" mode), parsed apart from the connection.

A line scanner in serial mode sends each decoded code as text followed by a terminator —
CR (0x0D) by default on most models, CR LF or LF when configured — and nothing else; some
prefix the AIM symbology identifier (``]Q1`` for QR, ``]C0`` for Code 128, ISO/IEC 15424).
:class:`LineParser` turns bytes into :class:`Scan` items and never raises: an overlong line
(noise, a scanner left in a binary mode) or one with control bytes is dropped and counted.
Notes: docs/protocols/gsm-at.md § "Kiosk QR scanner".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Terminator = Literal["auto", "cr", "lf", "crlf"]
MAX_LINE = 2048  # a QR code holds at most 2953 bytes; booking codes and URLs are far shorter

# ISO/IEC 15424 symbology identifiers: "]" + code letter + modifier digit
_AIM = re.compile(r"^\](?P<code>[A-Za-z])(?P<modifier>[0-9A-Za-z])")
SYMBOLOGIES = {"Q": "qr", "d": "datamatrix", "C": "code128", "E": "ean", "A": "code39", "L": "pdf417", "I": "itf"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Scan:
    """One decoded code: its text, the symbology when the scanner names it, the raw bytes."""

    text: str
    symbology: str | None = None
    raw: bytes = b""


@dataclass
class LineParser:
    """Incremental line parser; ``feed`` returns complete scans, ``dropped`` counts rejected lines."""

    terminator: Terminator = "auto"
    encoding: str = "utf-8"
    aim_ids: bool = False  # True: strip and read a leading AIM identifier
    dropped: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _skip_lf: bool = False

    def feed(self, data: bytes) -> list[Scan]:
        """Consume bytes; return the scans completed by them."""
        out: list[Scan] = []
        for byte in data:
            if self._skip_lf:
                self._skip_lf = False
                if byte == 0x0A:
                    continue
            if self._ends(byte):
                raw, self._buf = bytes(self._buf), bytearray()
                self._skip_lf = byte == 0x0D and self.terminator in ("auto", "crlf")
                scan = self._scan(raw)
                if scan is not None:
                    out.append(scan)
                continue
            if len(self._buf) >= MAX_LINE:
                self.dropped += 1
                self._buf = bytearray()
                self._overflow = True
                continue
            self._buf.append(byte)
        return out

    _overflow: bool = False

    def _ends(self, byte: int) -> bool:
        if self.terminator == "lf":
            return byte == 0x0A
        if self.terminator == "cr":
            return byte == 0x0D
        if self.terminator == "crlf":
            return byte == 0x0D  # the LF after it is skipped
        return byte in (0x0D, 0x0A)

    def _scan(self, raw: bytes) -> Scan | None:
        if self._overflow:  # the tail of an overlong line
            self._overflow = False
            return None
        if self.terminator == "lf" and raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw:
            return None
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError:
            try:  # scanners configured for GB 18030 output send Chinese QR text that way
                text = raw.decode("gb18030")
            except UnicodeDecodeError:
                self.dropped += 1
                return None
        if _CONTROL.search(text):
            self.dropped += 1
            return None
        symbology = None
        if self.aim_ids:
            match = _AIM.match(text)
            if match:
                symbology = SYMBOLOGIES.get(match.group("code"), match.group("code"))
                text = text[match.end() :]
        text = text.strip()
        return Scan(text, symbology, raw) if text else None


def encode_line(text: str, terminator: Terminator = "cr", *, aim: str | None = None, encoding: str = "utf-8") -> bytes:
    """The bytes a scanner sends for ``text`` (the simulator; ``aim`` such as ``]Q1``)."""
    ending = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "auto": b"\r"}[terminator]
    return ((aim or "") + text).encode(encoding) + ending
