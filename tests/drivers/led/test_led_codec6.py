"""Golden frames and fuzzing of the 6th-generation (0xF0) Onbon codec.

The golden frames are built here by hand, field by field, from the field tables of the
Onbon protocol analysis tool (strongercjd/Onbon-Protocol-Analysis, file
``Onbon Protocol analysis/Form1.cs``): ``Six_Font_Protocol_header_string_init`` (屏地址 2,
源地址 2, 协议版本号 1, 保留字节 1, 设备类型 2, 保留字节 4, 数据域长度 4),
``Six_Font_Protocol_A7_06_cmd_string_init`` (控制器是否回复, 命令分组, 命令编号, 掉电是否保留,
删除区域个数, 删除的区域ID, 更新区域个数) and ``Six_Font_Protocol_area_data_string_init`` (区域数据长度
… 是否使能语音, 显示数据长度, 显示数据), with the framing, escaping and CRC of that file's
``Data_deal_with`` and ``crc16``. Unverified on hardware (docs/protocols/onbon-bx.md).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.led import codec, codec6

TEXT_GB = "A001 请到3号窗口".encode("gb2312")

HEADER_FIELDS = [  # Six_Font_Protocol_header_string_init; 数据域长度 appended per frame
    ("屏地址", "01 00"), ("源地址", "00 80"), ("协议版本号", "F0"), ("保留字节", "00"),
    ("设备类型", "FE 00"), ("保留字节", "00 00 00 00"),
]  # fmt: skip
AREA_FIELDS = [  # Six_Font_Protocol_area_data_string_init, voice off (是否使能语音 0: no voice fields)
    ("区域序号", "00"), ("动态区运行模式", "00"), ("动态区超时时间", "00 00"), ("和异步节目的关系", "00"),
    ("关联异步节目个数", "00 00"), ("是否覆盖", "00"), ("保留字节", "00" * 4), ("区域类型", "00"),
    ("X坐标", "00 00"), ("Y坐标", "00 00"), ("区域宽度", "40 00"), ("区域高度", "10 00"), ("是否有边框", "00"),
    ("保留字节", "00" * 8), ("文字风格布局模式", "00"), ("行间距", "00"), ("行字体对齐方式", "00"), ("字间距", "00"),
    ("保留字节", "00" * 6), ("是否单行显示", "01"), ("是否自动换行", "01"), ("显示方式", "01"), ("退出方式", "00"),
    ("速度等级", "00"), ("停留时间", "00"), ("是否使能语音", "00"), ("显示数据长度", "10 00 00 00"),
]  # fmt: skip


def fields(table: list[tuple[str, str]]) -> bytes:
    return b"".join(bytes.fromhex(value) for _name, value in table)


def hand_frame(data: bytes) -> bytes:
    """Header + DATA + CRC-16 (little-endian), escaped, between A5×8 and 5A."""
    body = fields(HEADER_FIELDS) + len(data).to_bytes(4, "little") + data
    return codec.PREAMBLE + codec.escape(body + codec.crc16_arc(body).to_bytes(2, "little")) + b"\x5a"


AREA_BLOCK = fields(AREA_FIELDS) + TEXT_GB
# Six_Font_Protocol_A7_06_cmd_string_init: reply 00, A7 06, power-off 00, delete 0 areas, update 1 area
TEXT_DATA = bytes.fromhex("00 A7 06 00 00 01") + len(AREA_BLOCK).to_bytes(4, "little") + AREA_BLOCK
TEXT = bytes.fromhex(
    "A5 A5 A5 A5 A5 A5 A5 A5 "
    "01 00 00 80 F0 00 FE 00 00 00 00 00 4D 00 00 00 "  # header
    "00 A7 06 00 00 01 "  # A7 06 command fields
    "43 00 00 00 "  # 区域数据长度 67
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 40 00 10 00 00 "  # 区域序号 … 是否有边框
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "  # 保留字节 … 保留字节
    "01 01 01 00 00 00 00 "  # 是否单行显示 … 是否使能语音
    "10 00 00 00 "  # 显示数据长度 16
    "41 30 30 31 20 C7 EB B5 BD 33 BA C5 B4 B0 BF DA "  # text
    "96 D2 5A "  # CRC, end
)
# delete area 0, update none: how hallq clears; its CRC low byte 5B is escaped to 5B 01
CLEAR = bytes.fromhex(
    "A5 A5 A5 A5 A5 A5 A5 A5 01 00 00 80 F0 00 FE 00 00 00 00 00 07 00 00 00 00 A7 06 00 01 00 00 5B 01 A4 5A"
)


def test_golden_text_frame_from_the_field_table() -> None:
    assert hand_frame(TEXT_DATA) == TEXT
    assert codec6.dynamic_text(1, [(codec6.Area6(), TEXT_GB)]) == TEXT
    request = codec6.parse_dynamic_text(codec6.decode(TEXT))
    [block] = request.areas
    assert block.text.decode("gb2312") == "A001 请到3号窗口"
    assert (block.area.width, block.area.height, block.area.effect, request.deleted) == (64, 16, "static", ())


def test_golden_clear_frame() -> None:
    assert hand_frame(bytes.fromhex("00 A7 06 00 01 00 00")) == CLEAR
    assert codec6.delete_areas(1, (0,)) == CLEAR
    request = codec6.parse_dynamic_text(codec6.decode(CLEAR))
    assert (request.deleted, request.areas) == ((0,), ())


def test_header_fields() -> None:
    frame = codec6.decode(TEXT)
    assert (frame.dst, frame.src, frame.device_type) == (1, 0x8000, 0xFE)
    assert (frame.reply_flag, frame.command) == (0, (0xA7, 0x06))
    assert codec6.is_bx6(codec.unescape(TEXT[8:-1])) and not codec6.is_bx6(codec.unescape(codec.ping(1)[8:-1]))


def test_crc_ffff_means_no_check_and_a_bad_crc_is_a_checksum_error() -> None:
    raw = codec.unescape(TEXT[8:-1])
    assert codec6.decode_raw(raw[:-2] + b"\xff\xff") == codec6.decode(TEXT)  # the tool: "不进行CRC校验"
    with pytest.raises(codec6.Bx6ChecksumError):
        codec6.decode(codec6.encode(codec6.decode(TEXT), crc_xor=0x1234))
    with pytest.raises(codec6.Bx6ProtocolError, match="version"):
        codec6.decode_raw(codec.unescape(codec.ping(1)[8:-1]))


@pytest.mark.parametrize("voice", [1, 2])
def test_voice_fields_are_walked_as_the_source_walks_them(voice: int) -> None:
    # 是否使能语音 1: 发音人, 音量, 语速, 编码格式 (1 each), 重播次数 (4), 重默间隔 (4), 语音参数保留长度 (1);
    # 2: the same, then 读音数据长度 (4) and 读音数据.
    sound = "请".encode("gb2312")
    voice_fields = bytes((voice, 1, 5, 5, 0)) + (1).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"\x00"
    if voice == 2:
        voice_fields += len(sound).to_bytes(4, "little") + sound
    head = fields(AREA_FIELDS[:-2])
    block = head + voice_fields + len(TEXT_GB).to_bytes(4, "little") + TEXT_GB
    data = bytes.fromhex("00 A7 06 00 00 01") + len(block).to_bytes(4, "little") + block
    [area] = codec6.parse_dynamic_text(codec6.decode(hand_frame(data))).areas
    assert area.text == TEXT_GB


def test_related_programs_and_escaped_bytes_round_trip() -> None:
    area = codec6.Area6(area_id=3, x=0x5A, width=0xA5, align="center", effect="scroll_left", related_programs=(7, 0x5A))
    wire = codec6.dynamic_text(7, [(area, b"\xa5\x5a")], delete=(1, 2))
    assert wire.count(b"\x5a") == 1 and wire[8:].find(b"\xa5") < 0
    request = codec6.parse_dynamic_text(codec6.decode(wire))
    assert request.deleted == (1, 2) and request.areas == (codec6.AreaText6(area, b"\xa5\x5a"),)


def test_parser_across_chunks_skips_fifth_generation_frames() -> None:
    parser = codec6.Bx6Parser()
    stream = TEXT + codec.ping(1) + CLEAR
    frames = [f for i in range(len(stream)) for f in parser.feed(stream[i : i + 1])]
    assert frames == [codec6.decode(TEXT), codec6.decode(CLEAR)] and parser.error_count == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parser_never_raises_on_random_bytes(data: bytes) -> None:
    codec6.Bx6Parser().feed(data)  # never raises at all
    with contextlib.suppress(codec6.Bx6ProtocolError):
        codec6.decode(data)
    with contextlib.suppress(codec6.Bx6ProtocolError):
        codec6.parse_dynamic_text(codec6.Bx6Frame(1, codec6.HOST_ADDRESS, b"\x00\xa7\x06" + data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_area_data_fuzz_raises_only_the_codec_error(tail: bytes) -> None:
    # a well-formed start, then arbitrary area bytes: every failure is the codec's own error
    data = bytes.fromhex("00 A7 06 00 00 01") + len(tail).to_bytes(4, "little") + tail
    with contextlib.suppress(codec6.Bx6ProtocolError):
        codec6.parse_dynamic_text(codec6.decode(hand_frame(data)))


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=120), cut=st.integers(min_value=0, max_value=len(TEXT)), chunk=st.integers(1, 40))
def test_parser_resyncs_after_garbage_and_truncation(garbage: bytes, cut: int, chunk: int) -> None:
    stream = garbage + TEXT[:cut] + CLEAR + TEXT
    parser = codec6.Bx6Parser()
    frames = [f for i in range(0, len(stream), chunk) for f in parser.feed(stream[i : i + chunk])]
    assert frames[-2:] == [codec6.decode(CLEAR), codec6.decode(TEXT)]
