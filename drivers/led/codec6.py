"""Onbon 6th-generation (protocol version 0xF0) frames: the font dynamic area command A7 06.

Layout from the field tables of Onbon's protocol analysis tool (strongercjd/Onbon-Protocol-Analysis,
``Onbon Protocol analysis/Form1.cs``: ``Six_Font_Protocol_header_string_init``,
``Six_Font_Protocol_A7_06_cmd_string_init``, ``Six_Font_Protocol_area_data_string_init`` and the
parser ``Six_Font_Protocol_Deal_With``); see docs/protocols/onbon-bx.md, "6th generation (0xF0)".
Unverified on hardware. On the wire::

    A5 ×8 | escaped( HEADER(16) + DATA(N) + CRC16(2) ) | 5A

Framing, escaping and the CRC are those of the 5th generation (the tool decodes all three of its
protocols with one routine), so they come from :mod:`drivers.led.codec`. Multi-byte fields are
little-endian (the tool reverses each field's bytes for display).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

from drivers.led import codec

PROTOCOL_VERSION = 0xF0
HOST_ADDRESS = 0x8000  # as the 5th generation; the source tool only reads this field
DEVICE_TYPE = 0x00FE  # 2-byte field; value not given by the source (the 5th-gen "universal" FE): verify on site
HEADER = struct.Struct("<HHBBH4sI")  # dst, src, version, reserved, device type, reserved(4), data length
HEADER_LEN = HEADER.size  # 16
NO_CRC = 0xFFFF  # the tool reports this CRC value as "no CRC check"
CMD_DYNAMIC_TEXT = (0xA7, 0x06)  # 更新字库动态区
MAX_BODY = codec.MAX_BODY

# area block, before the related-program ids: id, run mode, timeout, relation, related count
_AREA_HEAD = struct.Struct("<BBHBH")
# after the ids: cover, reserved(4), area type, x, y, width, height, border, reserved(8),
# layout, line spacing, alignment, char spacing, reserved(6), single line, auto wrap,
# display mode, exit mode, speed, stay, voice enable
_AREA_BODY = struct.Struct("<B4sBHHHHB8sBBBB6sBBBBBBB")
_VOICE_PARAMS = 12  # speaker, volume, rate, encoding (1 each), repeat count (4), repeat interval (4)


class Bx6ProtocolError(codec.BxProtocolError):
    """A 6th-generation frame that cannot be decoded."""


class Bx6ChecksumError(codec.BxChecksumError, Bx6ProtocolError):
    """A 6th-generation frame whose CRC does not match."""


@dataclass(frozen=True)
class Bx6Frame:
    """A decoded 0xF0 frame: addresses and DATA (reply flag, command group, command, payload)."""

    dst: int
    src: int
    data: bytes
    device_type: int = DEVICE_TYPE

    @property
    def reply_flag(self) -> int:
        """First DATA byte: whether the controller should reply (控制器是否回复)."""
        return self.data[0] if self.data else -1

    @property
    def command(self) -> tuple[int, int]:
        """(命令分组, 命令编号): DATA bytes 1 and 2 (the reply flag comes first in this generation)."""
        return (self.data[1], self.data[2]) if len(self.data) >= 3 else (-1, -1)


def encode(frame: Bx6Frame, *, crc_xor: int = 0) -> bytes:
    """The wire bytes of ``frame`` (``crc_xor`` non-zero only to simulate corruption)."""
    body = HEADER.pack(frame.dst, frame.src, PROTOCOL_VERSION, 0, frame.device_type, bytes(4), len(frame.data))
    body += frame.data
    crc = codec.crc16_arc(body) ^ crc_xor
    return codec.PREAMBLE + codec.escape(body + struct.pack("<H", crc)) + bytes((codec.END,))


def is_bx6(raw: bytes) -> bool:
    """Whether an unescaped frame body carries protocol version 0xF0 (byte 4; reserved in the 5th gen)."""
    return len(raw) > 4 and raw[4] == PROTOCOL_VERSION


def decode_raw(raw: bytes) -> Bx6Frame:
    """Decode an unescaped body (HEADER + DATA + CRC); Bx6ProtocolError when malformed."""
    if len(raw) < HEADER_LEN + 2:
        raise Bx6ProtocolError(f"frame too short ({len(raw)} bytes)")
    body, (crc,) = raw[:-2], struct.unpack("<H", raw[-2:])
    if crc != NO_CRC and crc != codec.crc16_arc(body):
        raise Bx6ChecksumError(f"CRC {crc:04X} != {codec.crc16_arc(body):04X}")
    dst, src, version, _res, device_type, _res4, length = HEADER.unpack_from(body)
    if version != PROTOCOL_VERSION:
        raise Bx6ProtocolError(f"protocol version {version:#04x}, not 0xf0")
    data = body[HEADER_LEN:]
    if length != len(data):
        raise Bx6ProtocolError(f"data length field {length} != {len(data)} data bytes")
    return Bx6Frame(dst, src, data, device_type)


def decode_body(escaped: bytes) -> Bx6Frame:
    """Decode the escaped bytes between preamble and 5A."""
    try:
        raw = codec.unescape(escaped)
    except codec.BxProtocolError as exc:
        raise Bx6ProtocolError(str(exc)) from exc
    return decode_raw(raw)


def decode(wire: bytes) -> Bx6Frame:
    """Decode one complete wire frame (preamble … 5A)."""
    stripped = wire.lstrip(b"\xa5")
    if not stripped or stripped[-1] != codec.END or len(stripped) == len(wire):
        raise Bx6ProtocolError("not a framed BX message")
    return decode_body(stripped[:-1])


# --- command A7 06: font dynamic areas ------------------------------------------------


@dataclass(frozen=True)
class Area6:
    """One font dynamic area. Value meanings are the 5th generation's (the source names, not defines, them)."""

    area_id: int = 0
    x: int = 0  # pixels (the tool's region preview draws the raw values as pixels)
    y: int = 0
    width: int = 64
    height: int = 16
    run_mode: str = "loop"
    timeout: int = 0
    align: str = "left"
    effect: str = "static"
    exit_mode: int = 0
    speed: int = 0
    stay: int = 0
    line_spacing: int = 0
    char_spacing: int = 0
    multiline: bool = False
    auto_wrap: bool = False
    area_type: int = 0
    related_programs: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class AreaText6:
    """A decoded area block: geometry, presentation and display data (GB2312/GB18030 bytes)."""

    area: Area6
    text: bytes


@dataclass(frozen=True)
class DynamicText6:
    """A decoded A7 06 request."""

    reply: int
    keep_on_power_off: int
    deleted: tuple[int, ...]
    areas: tuple[AreaText6, ...]


def _value(table: dict[str, int], name: str) -> int:
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown area setting {name!r}; known: {', '.join(table)}") from None


def area_block(area: Area6, text: bytes) -> bytes:
    """One area block: 区域数据长度(4) then the fields of ``Six_Font_Protocol_area_data_string_init``, voice off."""
    head = _AREA_HEAD.pack(
        area.area_id, _value(codec.RUN_MODES, area.run_mode), area.timeout, 0, len(area.related_programs)
    )
    ids = b"".join(struct.pack("<H", p) for p in area.related_programs)
    body = _AREA_BODY.pack(
        0,  # 是否覆盖
        bytes(4),
        area.area_type,
        area.x,
        area.y,
        area.width,
        area.height,
        0,  # 是否有边框: no border (the source parses no border data)
        bytes(8),
        0,  # 文字风格布局模式
        area.line_spacing,
        _value(codec.ALIGN_H, area.align),
        area.char_spacing,
        bytes(6),
        2 if area.multiline else 1,
        2 if area.auto_wrap else 1,
        _value(codec.EFFECTS, area.effect),
        area.exit_mode,
        area.speed,
        area.stay,
        0,  # 是否使能语音: off, so no voice fields follow
    )
    block = head + ids + body + struct.pack("<I", len(text)) + text
    return struct.pack("<I", len(block)) + block


def dynamic_text(
    dst: int,
    areas: list[tuple[Area6, bytes]],
    *,
    delete: tuple[int, ...] = (),
    reply: bool = False,
    keep_on_power_off: bool = False,
) -> bytes:
    """Command A7 06: delete ``delete`` areas, then write ``areas`` (text already encoded)."""
    if len(delete) > 255 or len(areas) > 255:
        raise ValueError("at most 255 areas per frame")
    data = bytes((1 if reply else 0, *CMD_DYNAMIC_TEXT, 1 if keep_on_power_off else 0, len(delete), *delete))
    data += bytes((len(areas),)) + b"".join(area_block(a, t) for a, t in areas)
    return encode(Bx6Frame(dst, HOST_ADDRESS, data))


def delete_areas(dst: int, area_ids: tuple[int, ...], *, reply: bool = False) -> bytes:
    """A7 06 that only deletes ``area_ids`` (no update): how hallq clears a 6th-generation strip."""
    return dynamic_text(dst, [], delete=area_ids, reply=reply)


class _Reader:
    """Bounds-checked reads over one block; every overrun is a Bx6ProtocolError."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Bx6ProtocolError(f"truncated {what}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: struct.Struct, what: str) -> tuple[int | bytes, ...]:
        return fmt.unpack(self.take(fmt.size, what))

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "little")


def _names(table: dict[str, int]) -> dict[int, str]:
    return {v: k for k, v in table.items()}


_H, _E, _R = _names(codec.ALIGN_H), _names(codec.EFFECTS), _names(codec.RUN_MODES)


def _parse_area(block: bytes) -> AreaText6:
    r = _Reader(block)
    area_id, run_mode, timeout, _relation, related = r.unpack(_AREA_HEAD, "area header")
    assert isinstance(related, int)
    ids = tuple(int.from_bytes(r.take(2, "related programs"), "little") for _ in range(related))
    f = r.unpack(_AREA_BODY, "area fields")
    ints = [v if isinstance(v, int) else 0 for v in f]
    voice = ints[-1]
    if voice in (1, 2):  # 1: speak the display text, 2: speak the sound data that follows
        r.take(_VOICE_PARAMS, "voice parameters")
        if r.u8("voice reserve length"):
            raise Bx6ProtocolError("voice parameter reserve length > 0 is not defined by the source")
        if voice == 2:
            r.take(r.u32("sound data length"), "sound data")
    elif voice != 0:
        raise Bx6ProtocolError(f"voice enable {voice} (only 0, 1, 2 are defined)")
    text = r.take(r.u32("display data length"), "display data")
    if r.pos != len(block):
        raise Bx6ProtocolError(f"{len(block) - r.pos} bytes after the display data")
    area = Area6(
        area_id=int(area_id), x=ints[3], y=ints[4], width=ints[5], height=ints[6],
        run_mode=_R.get(int(run_mode), "loop"), timeout=int(timeout), align=_H.get(ints[11], "left"),
        effect=_E.get(ints[16], "static"), exit_mode=ints[17], speed=ints[18], stay=ints[19],
        line_spacing=ints[10], char_spacing=ints[12], multiline=ints[14] == 2, auto_wrap=ints[15] == 2,
        area_type=ints[2], related_programs=ids,
    )  # fmt: skip
    return AreaText6(area, text)


def parse_dynamic_text(frame: Bx6Frame) -> DynamicText6:
    """Decode an A7 06 request as the source's ``Six_Font_A7_06_Protocol`` walks it; Bx6ProtocolError when malformed."""
    if frame.command != CMD_DYNAMIC_TEXT:
        raise Bx6ProtocolError("not an A7 06 frame")
    r = _Reader(frame.data, 3)
    keep = r.u8("power-off flag")
    deleted = tuple(r.take(r.u8("delete count"), "deleted area ids"))
    count = r.u8("area count")
    areas = tuple(_parse_area(r.take(r.u32("area data length"), "area data")) for _ in range(count))
    if r.pos != len(frame.data):
        raise Bx6ProtocolError(f"{len(frame.data) - r.pos} bytes after the last area")
    return DynamicText6(frame.reply_flag, keep, deleted, areas)


# --- incremental parsing ---------------------------------------------------------------


class FrameSplitter:
    """Split a byte stream into escaped frame bodies (A5… body 5A); resyncs on any A5, never raises."""

    def __init__(self) -> None:
        self._body = bytearray()
        self._in_frame = False
        self.cut_short = 0  # bodies abandoned: a new preamble mid-frame, or too long

    def feed(self, data: bytes) -> list[bytes]:
        """Consume ``data``; return every complete escaped body in it."""
        bodies: list[bytes] = []
        for byte in data:
            if byte == codec.START:
                if self._in_frame and self._body:
                    self.cut_short += 1
                self._in_frame = True
                self._body.clear()
            elif not self._in_frame:
                continue  # garbage between frames
            elif byte == codec.END:
                self._in_frame = False
                bodies.append(bytes(self._body))
                self._body.clear()
            elif len(self._body) >= MAX_BODY:
                self._in_frame = False
                self._body.clear()
                self.cut_short += 1
            else:
                self._body.append(byte)
        return bodies


class Bx6Parser:
    """Incremental 0xF0 frame parser: feed bytes, get whole frames; bad frames are counted, never raised."""

    def __init__(self, max_errors_kept: int = 16) -> None:
        self._split = FrameSplitter()
        self.errors: deque[Bx6ProtocolError] = deque(maxlen=max_errors_kept)
        self._rejected = 0

    @property
    def error_count(self) -> int:
        """Frames rejected so far (bad body, bad CRC, cut short)."""
        return self._rejected + self._split.cut_short

    def feed(self, data: bytes) -> list[Bx6Frame]:
        """Consume ``data``; return every complete, valid 0xF0 frame in it."""
        frames: list[Bx6Frame] = []
        for body in self._split.feed(data):
            try:
                frames.append(decode_body(body))
            except Bx6ProtocolError as exc:
                self.errors.append(exc)
                self._rejected += 1
        return frames
