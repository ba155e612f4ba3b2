"""Onbon BX-5K/6K frame codec: header, CRC-16/ARC, escaping, and an incremental parser.

See docs/protocols/onbon-bx.md. A frame on the wire is::

    A5 ×8 | escaped( HEADER(14) + DATA(N) + CRC16(2) ) | 5A

Because escaping removes every A5 and 5A from the body, framing is unambiguous: a
frame is a run of A5, a body with neither byte, and a closing 5A. The parser uses
that to resync after garbage and never raises.
"""

from __future__ import annotations

import re
import struct
from collections import deque
from dataclasses import dataclass

from drivers.errors import ChecksumError, ProtocolError

PREAMBLE = b"\xa5" * 8
START = 0xA5
END = 0x5A
HOST_ADDRESS = 0x8000
BROADCAST = 0xFFFF  # no reply
BROADCAST_REPLY = 0xFFFE  # every controller replies
DEVICE_UNIVERSAL = 0xFE
PROTOCOL_VERSION = 0x02
HEADER_LEN = 14
MAX_BODY = 64 * 1024  # a dynamic-area frame is a few hundred bytes; bound memory on garbage

# command groups / commands
CMD_ACK = (0xA0, 0x00)
CMD_PING = (0xA2, 0x00)
CMD_CLEAR = (0xA3, 0x10)
CMD_DYNAMIC_TEXT = (0xA3, 0x06)

# CmdError values of a controller reply (the vendor SDK's error table; verify on site).
# Busy and checksum errors are transient: the request is sent again.
ERR_BUSY = 0x03
ERR_CHECKSUM = 0x05
ERRORS: dict[int, str] = {
    0x01: "command group out of range", 0x02: "no such command", ERR_BUSY: "controller busy",
    0x04: "memory volume exceeded", ERR_CHECKSUM: "checksum (CRC) error in the request",
    0x06: "file does not exist", 0x07: "flash error",
}  # fmt: skip


def describe_error(code: int) -> str:
    """A readable name for a CmdError value."""
    return f"{code:#04x} {ERRORS.get(code, 'unknown error')}"


ALIGN_H = {"left": 0b00, "right": 0b01, "center": 0b10}
ALIGN_V = {"top": 0b00, "bottom": 0b01, "middle": 0b10}
EFFECTS = {"static": 1, "quick": 2, "scroll_left": 3, "scroll_right": 4, "scroll_up": 5, "scroll_down": 6}
RUN_MODES = {"loop": 0, "stay": 1, "loop_then_hide": 2, "once": 4}
COLOR_CODES = {"red": "\\C1", "green": "\\C2", "yellow": "\\C3"}
_COLOR_CODE_RE = re.compile(r"\\C[0-9]")

_ESCAPES = {0xA5: b"\xa6\x02", 0xA6: b"\xa6\x01", 0x5A: b"\x5b\x02", 0x5B: b"\x5b\x01"}
_UNESCAPES = {(0xA6, 0x02): 0xA5, (0xA6, 0x01): 0xA6, (0x5B, 0x02): 0x5A, (0x5B, 0x01): 0x5B}


class BxProtocolError(ProtocolError):
    """A BX frame that cannot be decoded."""


class BxChecksumError(ChecksumError, BxProtocolError):
    """A BX frame whose CRC does not match."""


def crc16_arc(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC (poly 0xA001 reflected, init 0, no xorout)."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def escape(body: bytes) -> bytes:
    """Escape A5/A6/5A/5B for the wire."""
    out = bytearray()
    for byte in body:
        out += _ESCAPES.get(byte, bytes((byte,)))
    return bytes(out)


def unescape(body: bytes) -> bytes:
    """Undo :func:`escape`; BxProtocolError on a dangling or unknown escape."""
    out = bytearray()
    i = 0
    while i < len(body):
        byte = body[i]
        if byte in (0xA6, 0x5B):
            if i + 1 >= len(body) or (byte, body[i + 1]) not in _UNESCAPES:
                raise BxProtocolError(f"bad escape at {i}: {body[i:i + 2].hex(' ')}")
            out.append(_UNESCAPES[(byte, body[i + 1])])
            i += 2
        else:
            out.append(byte)
            i += 1
    return bytes(out)


@dataclass(frozen=True)
class BxFrame:
    """A decoded frame: addresses and DATA (command group, command, flag/error, payload)."""

    dst: int
    src: int
    data: bytes
    device_type: int = DEVICE_UNIVERSAL
    version: int = PROTOCOL_VERSION

    @property
    def command(self) -> tuple[int, int]:
        """(CmdGroup, Cmd)."""
        return (self.data[0], self.data[1]) if len(self.data) >= 2 else (-1, -1)

    @property
    def status(self) -> int:
        """Third DATA byte: ResponseFlag in a request, CmdError in a reply (0 = ok)."""
        return self.data[2] if len(self.data) >= 3 else -1

    @property
    def payload(self) -> bytes:
        """DATA after the 5-byte command prefix."""
        return self.data[5:]


def encode(frame: BxFrame) -> bytes:
    """The full wire bytes of ``frame``."""
    return encode_with_crc(frame)


def encode_with_crc(frame: BxFrame, xor: int = 0) -> bytes:
    """Wire bytes with the CRC XORed by ``xor`` (non-zero only to simulate corruption)."""
    header = struct.pack(
        "<HH3sBBBBBH", frame.dst, frame.src, b"\0\0\0", 0, 0, 0, frame.device_type, frame.version, len(frame.data)
    )
    body = header + frame.data
    return PREAMBLE + escape(body + struct.pack("<H", crc16_arc(body) ^ xor)) + bytes((END,))


def decode_body(escaped: bytes) -> BxFrame:
    """Decode the escaped bytes between preamble and 5A."""
    raw = unescape(escaped)
    if len(raw) < HEADER_LEN + 2:
        raise BxProtocolError(f"frame too short ({len(raw)} bytes)")
    body, (crc,) = raw[:-2], struct.unpack("<H", raw[-2:])
    if crc16_arc(body) != crc:
        raise BxChecksumError(f"CRC {crc:04X} != {crc16_arc(body):04X}")
    dst, src, _res, _bar, _check, _mode, dev, ver, length = struct.unpack("<HH3sBBBBBH", body[:HEADER_LEN])
    data = body[HEADER_LEN:]
    if length != len(data):
        raise BxProtocolError(f"length field {length} != {len(data)} data bytes")
    return BxFrame(dst, src, data, dev, ver)


def decode(wire: bytes) -> BxFrame:
    """Decode one complete wire frame (preamble … 5A)."""
    stripped = wire.lstrip(b"\xa5")
    if not stripped or stripped[-1] != END or len(stripped) == len(wire):
        raise BxProtocolError("not a framed BX message")
    return decode_body(stripped[:-1])


# --- requests --------------------------------------------------------------------


def request(dst: int, command: tuple[int, int], payload: bytes = b"", *, reply: bool = True) -> BxFrame:
    """A host request frame (ResponseFlag 01 asks for a reply)."""
    return BxFrame(dst, HOST_ADDRESS, bytes((*command, 1 if reply else 0, 0, 0)) + payload)


def ping(dst: int = 1) -> bytes:
    """Query status (A2 00), used as the health check."""
    return encode(request(dst, CMD_PING))


def clear(dst: int = 1) -> bytes:
    """Clear the screen (A3 10)."""
    return encode(request(dst, CMD_CLEAR))


def ack(dst: int = HOST_ADDRESS, src: int = BROADCAST_REPLY, error: int = 0) -> bytes:
    """A controller reply A0 00 with CmdError ``error``."""
    return encode(BxFrame(dst, src, bytes((*CMD_ACK, error, 0, 0))))


@dataclass(frozen=True)
class Area:
    """Geometry and presentation of one dynamic area (pixels, effect names)."""

    area_id: int = 0
    x: int = 0
    y: int = 0
    width: int = 64
    height: int = 16
    align: str = "left"
    valign: str = "top"
    effect: str = "static"
    run_mode: str = "loop"
    timeout: int = 0
    speed: int = 0
    stay: int = 0  # 0.5 s units
    line_spacing: int = 0
    multiline: bool = False
    auto_wrap: bool = False


def _x_unit(value: int) -> int:
    # X in 8-px units when it is a multiple of 8 (as the vendor encoder does), else pixels.
    return value // 8 if value % 8 == 0 else 0x8000 | value


def _width_unit(value: int) -> int:
    # Width is always sent in pixels (high bit set), matching the verified example.
    return 0x8000 | value


def colorize(text: str, color: str | None) -> str:
    """Prefix ``text`` with the \\C colour code (colour cards); None leaves it as is."""
    if color is None:
        return text
    if color not in COLOR_CODES:
        raise ValueError(f"unknown colour {color!r}; known: {', '.join(COLOR_CODES)}")
    return COLOR_CODES[color] + text


def strip_color_codes(text: str) -> str:
    """Remove inline \\Cn codes."""
    return _COLOR_CODE_RE.sub("", text)


def area_data(area: Area, text: bytes) -> bytes:
    """One AreaData block (type 00) for command A3 06."""
    try:
        typesetting = ALIGN_H[area.align] | (ALIGN_V[area.valign] << 2)
        effect = EFFECTS[area.effect]
        run_mode = RUN_MODES[area.run_mode]
    except KeyError as exc:
        raise ValueError(f"unknown area setting {exc}") from exc
    return struct.pack(
        "<BHHHHBBBHBBBBBBBBBI",
        0,
        _x_unit(area.x),
        area.y,
        _width_unit(area.width),
        area.height,
        area.area_id,
        area.line_spacing,
        run_mode,
        area.timeout,
        0,  # sound mode
        0,  # extended parameter length
        typesetting,
        2 if area.multiline else 1,
        2 if area.auto_wrap else 1,
        effect,
        0,  # exit mode
        area.speed,
        area.stay,
        len(text),
    ) + text


def dynamic_text(
    dst: int, areas: list[tuple[Area, bytes]], *, reinit: bool = False, delete_all: bool = False
) -> bytes:
    """Command A3 06: real-time text (already encoded, e.g. GB2312) into dynamic areas."""
    head = bytes((1 if reinit else 0, 0, 0xFF if delete_all else 0, len(areas)))
    blocks = b"".join(struct.pack("<H", len(block)) + block for block in (area_data(a, t) for a, t in areas))
    return encode(BxFrame(dst, HOST_ADDRESS, bytes((*CMD_DYNAMIC_TEXT, 1)) + head + blocks))


@dataclass(frozen=True)
class AreaText:
    """A decoded AreaData block (used by the simulator and tests)."""

    area: Area
    text: bytes


def parse_dynamic_text(frame: BxFrame) -> list[AreaText]:
    """Decode the areas of an A3 06 request; BxProtocolError when malformed."""
    data = frame.data
    if frame.command != CMD_DYNAMIC_TEXT or len(data) < 7:
        raise BxProtocolError("not an A3 06 frame")
    delete_n, count = data[5], data[6]
    pos = 7 + (delete_n if delete_n not in (0, 0xFF) else 0)
    names_h = {v: k for k, v in ALIGN_H.items()}
    names_v = {v: k for k, v in ALIGN_V.items()}
    names_e = {v: k for k, v in EFFECTS.items()}
    names_r = {v: k for k, v in RUN_MODES.items()}
    out: list[AreaText] = []
    fixed = struct.calcsize("<BHHHHBBBHBBBBBBBBBI")
    for _ in range(count):
        if pos + 2 > len(data):
            raise BxProtocolError("truncated area list")
        (length,) = struct.unpack_from("<H", data, pos)
        block = data[pos + 2 : pos + 2 + length]
        pos += 2 + length
        if len(block) != length or length < fixed:
            raise BxProtocolError("truncated area data")
        f = struct.unpack_from("<BHHHHBBBHBBBBBBBBBI", block)
        text = block[fixed : fixed + f[18]]
        if len(text) != f[18]:
            raise BxProtocolError("text length beyond area data")
        x = f[1] & 0x7FFF if f[1] & 0x8000 else f[1] * 8
        width = f[3] & 0x7FFF if f[3] & 0x8000 else f[3] * 8
        area = Area(
            area_id=f[5], x=x, y=f[2], width=width, height=f[4],
            align=names_h.get(f[11] & 3, "left"), valign=names_v.get((f[11] >> 2) & 3, "top"),
            effect=names_e.get(f[14], "static"), run_mode=names_r.get(f[7], "loop"), timeout=f[8],
            speed=f[16], stay=f[17], line_spacing=f[6], multiline=f[12] == 2, auto_wrap=f[13] == 2,
        )  # fmt: skip
        out.append(AreaText(area, text))
    return out


class BxParser:
    """Incremental frame parser: feed bytes, get whole frames; bad frames are counted, never raised."""

    def __init__(self, max_errors_kept: int = 16) -> None:
        self._body = bytearray()
        self._in_frame = False
        self.errors: deque[BxProtocolError] = deque(maxlen=max_errors_kept)
        self.error_count = 0

    def _reject(self, error: BxProtocolError) -> None:
        self.errors.append(error)
        self.error_count += 1

    def feed(self, data: bytes) -> list[BxFrame]:
        """Consume ``data``; return every complete, valid frame in it."""
        frames: list[BxFrame] = []
        for byte in data:
            if byte == START:
                if self._in_frame and self._body:
                    self._reject(BxProtocolError("frame cut short by a new preamble"))
                self._in_frame = True
                self._body.clear()
            elif not self._in_frame:
                continue  # garbage between frames
            elif byte == END:
                self._in_frame = False
                body, self._body = bytes(self._body), bytearray()
                try:
                    frames.append(decode_body(body))
                except BxProtocolError as exc:
                    self._reject(exc)
            elif len(self._body) >= MAX_BODY:
                self._in_frame = False
                self._body.clear()
                self._reject(BxProtocolError("frame too long"))
            else:
                self._body.append(byte)
        return frames

    def reset(self) -> None:
        """Forget a partial frame."""
        self._body.clear()
        self._in_frame = False
