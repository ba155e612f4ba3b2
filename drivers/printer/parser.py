"""An incremental ESC/POS stream parser: bytes in any chunking -> a list of operations.

Used by the simulator. It never raises on bad input: unknown commands are skipped
(resync at the next byte) and undecodable text becomes U+FFFD. Text is decoded only
at a control byte, so a multi-byte character split across reads stays whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Raster images larger than this are treated as a corrupt header (resync), not waited for.
MAX_RASTER_ROW_BYTES = 256
MAX_RASTER_ROWS = 4096


@dataclass(frozen=True)
class Op:
    """One parsed operation: ``name`` plus arguments."""

    name: str
    args: tuple[Any, ...] = ()


# ESC commands with a fixed number of parameter bytes that only matter for layout fidelity.
_ESC_FIXED = {
    b"@": 0, b"a": 1, b"E": 1, b"!": 1, b"d": 1, b"J": 1, b"-": 1, b"2": 0, b"3": 1, b"M": 1,
    b"t": 1, b"R": 1, b"G": 1, b"V": 1, b"{": 1, b"c": 2, b"p": 3, b"$": 2, b"\\": 2, b"D": 0, b"=": 1,
    b"e": 1, b"U": 1, b" ": 1, b"%": 1, b"i": 0, b"m": 0,
}
_GS_FIXED = {
    b"!": 1, b"B": 1, b"H": 1, b"f": 1, b"h": 1, b"w": 1, b"L": 2, b"W": 2, b"a": 1, b"r": 1, b"I": 1,
    b"b": 1, b"P": 2, b"$": 2, b"\\": 2, b"^": 3,
}
_FS_FIXED = {b"&": 0, b".": 0, b"!": 1, b"-": 1, b"W": 1, b"C": 1, b"S": 2, b"p": 2, b"?": 0}


@dataclass
class EscposParser:
    """Feed bytes, get operations; keeps partial commands between calls."""

    encoding: str = "gb18030"
    _buf: bytearray = field(default_factory=bytearray)
    _text: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Op]:
        """Parse as much as possible; incomplete commands wait for more bytes."""
        self._buf += data
        ops: list[Op] = []
        pos = 0
        buf = self._buf
        n = len(buf)
        while pos < n:
            b = buf[pos]
            if b >= 0x20 and b != 0x7F:
                start = pos
                while pos < n and buf[pos] >= 0x20 and buf[pos] != 0x7F:
                    pos += 1
                self._text += buf[start:pos]
                continue
            self._flush_text(ops)
            used = self._command(buf, pos, ops)
            if used == 0:  # incomplete: wait for more
                break
            pos += used
        del self._buf[:pos]
        return ops

    def flush(self) -> list[Op]:
        """Emit pending text (end of stream)."""
        ops: list[Op] = []
        self._flush_text(ops)
        return ops

    def _flush_text(self, ops: list[Op]) -> None:
        if self._text:
            ops.append(Op("text", (bytes(self._text).decode(self.encoding, errors="replace"),)))
            self._text.clear()

    def _command(self, buf: bytearray, pos: int, ops: list[Op]) -> int:
        """Parse one control sequence at ``pos``; returns bytes used, 0 when incomplete."""
        b = buf[pos]
        avail = len(buf) - pos
        if b == 0x0A:
            ops.append(Op("lf"))
            return 1
        if b == 0x1B:
            return self._esc(buf, pos, avail, ops)
        if b == 0x1D:
            return self._gs(buf, pos, avail, ops)
        if b == 0x1C:
            if avail < 2:
                return 0
            cmd = bytes(buf[pos + 1 : pos + 2])
            if cmd in (b"&", b"."):
                ops.append(Op("chinese", (cmd == b"&",)))
            need = 2 + _FS_FIXED.get(cmd, 0)
            return need if avail >= need else 0
        if b == 0x10:
            if avail < 2:
                return 0
            sub = buf[pos + 1]
            if sub == 0x04:  # DLE EOT n
                if avail < 3:
                    return 0
                ops.append(Op("status", (buf[pos + 2],)))
                return 3
            if sub == 0x05:  # DLE ENQ n
                return 3 if avail >= 3 else 0
            if sub == 0x14:  # DLE DC4 fn m t
                return 5 if avail >= 5 else 0
            return 1
        if b == 0x0C:  # FF: print and return to page start
            ops.append(Op("lf"))
        return 1  # CR, HT and other single control bytes carry no layout we render

    def _esc(self, buf: bytearray, pos: int, avail: int, ops: list[Op]) -> int:
        if avail < 2:
            return 0
        cmd = bytes(buf[pos + 1 : pos + 2])
        if cmd == b"*":  # ESC * m nL nH d… bit image
            if avail < 5:
                return 0
            m, count = buf[pos + 2], buf[pos + 3] | buf[pos + 4] << 8
            need = 5 + count * (3 if m in (32, 33) else 1)
            return need if avail >= need else 0
        if cmd not in _ESC_FIXED:
            return 1  # unknown: drop the ESC and resync on what follows
        need = 2 + _ESC_FIXED[cmd]
        if avail < need:
            return 0
        arg = buf[pos + 2] if need > 2 else 0
        if cmd == b"@":
            ops.append(Op("init"))
        elif cmd == b"a":
            ops.append(Op("align", ({0: "left", 1: "center", 2: "right", 48: "left", 49: "center",
                                     50: "right"}.get(arg, "left"),)))
        elif cmd == b"E":
            ops.append(Op("bold", (bool(arg & 1),)))
        elif cmd == b"!":  # print mode: bit3 bold, bit4 double height, bit5 double width
            ops.append(Op("bold", (bool(arg & 0x08),)))
            ops.append(Op("size", (2 if arg & 0x20 else 1, 2 if arg & 0x10 else 1)))
        elif cmd == b"d":
            ops.append(Op("feed", (arg,)))
        elif cmd == b"J":
            ops.append(Op("feed_dots", (arg,)))
        elif cmd == b"i":
            ops.append(Op("cut", (False,)))
        elif cmd == b"m":
            ops.append(Op("cut", (True,)))
        return need

    def _gs(self, buf: bytearray, pos: int, avail: int, ops: list[Op]) -> int:
        if avail < 2:
            return 0
        cmd = bytes(buf[pos + 1 : pos + 2])
        if cmd == b"V":
            if avail < 3:
                return 0
            m = buf[pos + 2]
            if m in (0x41, 0x42, 0x61, 0x62, 0x67, 0x68):  # feed-and-cut variants carry n
                if avail < 4:
                    return 0
                ops.append(Op("cut", (m in (0x42, 0x62, 0x68),)))
                return 4
            ops.append(Op("cut", (m in (1, 49),)))
            return 3
        if cmd == b"(":
            if avail < 5:
                return 0
            length = buf[pos + 3] | buf[pos + 4] << 8
            need = 5 + length
            if avail < need:
                return 0
            if buf[pos + 2] == ord("k") and length >= 2 and buf[pos + 5] == 0x31:
                self._qr(buf[pos + 6], bytes(buf[pos + 7 : pos + need]), ops)
            return need
        if cmd == b"v":  # GS v 0 m xL xH yL yH d…
            if avail < 8:
                return 0
            if buf[pos + 2] != 0x30:
                return 2
            row_bytes = buf[pos + 4] | buf[pos + 5] << 8
            rows = buf[pos + 6] | buf[pos + 7] << 8
            if row_bytes == 0 or rows == 0 or row_bytes > MAX_RASTER_ROW_BYTES or rows > MAX_RASTER_ROWS:
                return 3  # a corrupt header; resync instead of swallowing megabytes
            need = 8 + row_bytes * rows
            if avail < need:
                return 0
            ops.append(Op("raster", (row_bytes * 8, rows, bytes(buf[pos + 8 : pos + need]))))
            return need
        if cmd == b"k":  # barcode: m<=6 NUL-terminated, else m n d…
            if avail < 3:
                return 0
            m = buf[pos + 2]
            if m <= 6:
                end = buf.find(b"\x00", pos + 3)
                return end - pos + 1 if end >= 0 else 0
            if avail < 4:
                return 0
            need = 4 + buf[pos + 3]
            return need if avail >= need else 0
        if cmd not in _GS_FIXED:
            return 1
        need = 2 + _GS_FIXED[cmd]
        if avail < need:
            return 0
        if cmd == b"!":
            n = buf[pos + 2]
            ops.append(Op("size", ((n >> 4 & 7) + 1, (n & 7) + 1)))
        return need

    def _qr(self, fn: int, payload: bytes, ops: list[Op]) -> None:
        if fn == 0x41:
            ops.append(Op("qr_model", (payload[0] if payload else 0,)))
        elif fn == 0x43 and payload:
            ops.append(Op("qr_size", (payload[0],)))
        elif fn == 0x45 and payload:
            ops.append(Op("qr_ec", (payload[0],)))
        elif fn == 0x50 and payload:
            ops.append(Op("qr_store", (payload[1:],)))
        elif fn == 0x51:
            ops.append(Op("qr_print"))
