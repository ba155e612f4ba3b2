"""SAM frames of second-generation ID-card readers (GA/T 467): build requests, parse replies.

Frame layout (see docs/protocols/idcard-sam.md)::

    AA AA AA 96 69 | LEN_H LEN_L | body… | CHK

LEN counts body + CHK; CHK is the XOR of LEN and body. The :class:`FrameParser` is fed
arbitrary chunks and yields complete frames; after garbage or a bad frame it
resynchronises on the next preamble and never raises.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum, IntEnum
from functools import reduce
from typing import Generic, TypeVar

from drivers.errors import ChecksumError, ProtocolError

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2
# Longest plausible frame body: the fingerprint read is 2314; anything longer is garbage.
MAX_LEN = 4096
MIN_REQUEST_LEN = 3  # CMD PARA CHK
MIN_RESPONSE_LEN = 4  # SW1 SW2 SW3 CHK


class SamCodecError(ProtocolError):
    """Base of the SAM codec's errors."""


class SamChecksumError(SamCodecError, ChecksumError):
    """A SAM frame whose XOR checksum does not match."""


class SamFrameError(SamCodecError):
    """Bytes that do not form a SAM frame (bad length, short reply, garbage)."""


class CardDataError(SamCodecError):
    """A read reply whose card data cannot be decoded."""


class SamStatus(IntEnum):
    """SW3 status codes of the SAM."""

    OK = 0x90
    ITEM_ABSENT = 0x91
    CARD_FOUND = 0x9F
    CHECKSUM_ERROR = 0x10
    LENGTH_ERROR = 0x11
    BAD_COMMAND = 0x21
    NOT_PERMITTED = 0x23
    UNKNOWN_ERROR = 0x24
    CARD_AUTH_FAILED = 0x31
    SAM_AUTH_FAILED = 0x32
    VERIFY_FAILED = 0x33
    FINGERPRINT_ERROR = 0x37
    INFO_LENGTH_ERROR = 0x3F
    UNKNOWN_CARD_TYPE = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SELF_TEST_FAILED = 0x60
    SAM_NOT_AUTHORISED = 0x66
    FIND_FAILED = 0x80
    SELECT_FAILED = 0x81

    @classmethod
    def of(cls, code: int) -> SamStatus | None:
        """The named status for ``code``, or None for codes outside the protocol page."""
        try:
            return cls(code)
        except ValueError:
            return None


class Command(Enum):
    """Commands as (CMD, PARA)."""

    RESET = (0x10, 0xFF)
    STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND = (0x20, 0x01)
    SELECT = (0x20, 0x02)
    READ = (0x30, 0x01)
    READ_ADDRESS = (0x30, 0x03)
    READ_FINGERPRINT = (0x30, 0x10)
    SET_BAUD = (0x60, 0x00)  # PARA 00..04 selects the rate
    SET_RF_FRAME = (0x61, 0xFF)

    @classmethod
    def lookup(cls, cmd: int, para: int) -> Command | None:
        """The command for a (CMD, PARA) pair; SET_BAUD matches every baud PARA."""
        if cmd == 0x60 and para in BAUD_PARA.values():
            return cls.SET_BAUD
        for command in cls:
            if command.value == (cmd, para):
                return command
        return None


BAUD_PARA: dict[int, int] = {115200: 0x00, 57600: 0x01, 38400: 0x02, 19200: 0x03, 9600: 0x04}


def checksum(data: bytes) -> int:
    """XOR of ``data`` (LEN bytes and body)."""
    return reduce(lambda acc, b: acc ^ b, data, 0)


def build_frame(body: bytes) -> bytes:
    """Wrap ``body`` (CMD PARA DATA or SW1 SW2 SW3 DATA) into a complete frame."""
    length = len(body) + 1
    if length > 0xFFFF:
        raise SamFrameError(f"frame body too long: {len(body)} bytes")
    head = length.to_bytes(2, "big")
    return PREAMBLE + head + body + bytes([checksum(head + body)])


def build_request(command: Command, data: bytes = b"", para: int | None = None) -> bytes:
    """A request frame for ``command`` (``para`` overrides the default PARA)."""
    cmd, default_para = command.value
    return build_frame(bytes([cmd, default_para if para is None else para]) + data)


def build_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A response frame (used by the simulator and tests)."""
    return build_frame(bytes([sw1, sw2, sw3]) + data)


def set_baud_request(baudrate: int) -> bytes:
    """The 60 xx request switching the reader to ``baudrate``."""
    if baudrate not in BAUD_PARA:
        raise SamFrameError(f"unsupported baud rate {baudrate}; one of {sorted(BAUD_PARA)}")
    return build_request(Command.SET_BAUD, para=BAUD_PARA[baudrate])


def set_rf_frame_request(size: int) -> bytes:
    """The 61 FF request setting the maximum RF frame byte."""
    if not 0 <= size <= 0xFF:
        raise SamFrameError(f"RF frame byte out of range: {size}")
    return build_request(Command.SET_RF_FRAME, bytes([size]))


RESET = build_request(Command.RESET)
STATUS = build_request(Command.STATUS)
SAM_ID = build_request(Command.SAM_ID)
FIND = build_request(Command.FIND)
SELECT = build_request(Command.SELECT)
READ = build_request(Command.READ)
READ_ADDRESS = build_request(Command.READ_ADDRESS)
READ_FINGERPRINT = build_request(Command.READ_FINGERPRINT)


@dataclass(frozen=True)
class Response:
    """A reply frame: card status words, the SAM status SW3 and the data."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def status(self) -> SamStatus | None:
        """SW3 as a named status (None when unknown)."""
        return SamStatus.of(self.sw3)

    @property
    def ok(self) -> bool:
        """True for 90 (ok) and 9F (card found)."""
        return self.sw3 in (SamStatus.OK, SamStatus.CARD_FOUND)

    def __repr__(self) -> str:
        # Reply data may carry personal data: show only its size.
        return f"Response(sw3={self.sw3:#04x}, {len(self.data)} data bytes)"


# How a card's presence is answered without reading it again (see docs/protocols/idcard-sam.md):
# a SELECT answers 90 while a card is in the field, 81 when it is gone; READ_ADDRESS (30 03)
# answers 90 (appended address) or 91 (none) while a card is there, 41 when it is gone.
PRESENCE_YES: dict[Command, frozenset[int]] = {
    Command.FIND: frozenset((SamStatus.CARD_FOUND,)),
    Command.SELECT: frozenset((SamStatus.OK,)),
    Command.READ_ADDRESS: frozenset((SamStatus.OK, SamStatus.ITEM_ABSENT)),
}
PRESENCE_NO: dict[Command, frozenset[int]] = {
    Command.FIND: frozenset((SamStatus.FIND_FAILED,)),
    Command.SELECT: frozenset((SamStatus.SELECT_FAILED,)),
    Command.READ_ADDRESS: frozenset((SamStatus.READ_FAILED,)),
}


def card_present(command: Command, response: Response) -> bool:
    """Whether ``response`` to a presence ``command`` says a card is in the field.

    Raises SamCodecError for an answer that says neither (a checksum error, a busy SAM):
    the caller treats that as "unknown", not as a lifted card.
    """
    if command not in PRESENCE_YES:
        raise SamCodecError(f"{command.name} is not a presence query")
    if response.sw3 in PRESENCE_YES[command]:
        return True
    if response.sw3 in PRESENCE_NO[command]:
        return False
    raise SamCodecError(f"{command.name} answered {response.sw3:#04x}: presence unknown")


@dataclass(frozen=True)
class Request:
    """A request frame as the reader sees it."""

    cmd: int
    para: int
    data: bytes = b""

    @property
    def command(self) -> Command | None:
        """The named command (None when unknown)."""
        return Command.lookup(self.cmd, self.para)


FrameT = TypeVar("FrameT")


class _Scanner(Generic[FrameT]):
    """Incremental frame scanner; subclasses turn a checked body into a frame object."""

    min_len = MIN_RESPONSE_LEN

    def __init__(self, max_errors: int = 32) -> None:
        self._buf = bytearray()
        self.discarded = 0  # bytes thrown away while resynchronising
        self.bad_frames = 0  # preambles whose frame failed length or checksum
        self.errors: deque[SamCodecError] = deque(maxlen=max_errors)

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget buffered bytes (after a timeout or a discard of the input)."""
        self.discarded += len(self._buf)
        self._buf.clear()

    def feed(self, data: bytes) -> list[FrameT]:
        """Add bytes; return every frame completed by them (possibly none)."""
        self._buf += data
        frames: list[FrameT] = []
        while True:
            start = self._buf.find(PREAMBLE)
            if start < 0:
                # Keep a tail that could be the start of a preamble split across chunks.
                keep = _partial_preamble(self._buf)
                self._drop(len(self._buf) - keep)
                return frames
            self._drop(start)
            if len(self._buf) < HEADER_LEN:
                return frames
            length = int.from_bytes(self._buf[5:7], "big")
            if not self.min_len <= length <= MAX_LEN:
                self._reject(SamFrameError(f"implausible frame length {length}"))
                continue
            total = HEADER_LEN + length
            # Another preamble inside this frame's extent means the frame was cut off
            # (truncated reply followed by a new one): drop it now rather than waiting.
            inner = self._buf.find(PREAMBLE, 1, min(len(self._buf), total + len(PREAMBLE) - 1))
            if inner > 0:
                self._reject(SamFrameError(f"frame cut off after {inner} of {total} bytes"))
                continue
            if len(self._buf) < total:
                return frames
            raw = bytes(self._buf[5:total])
            if checksum(raw) != 0:
                self._reject(SamChecksumError(f"bad checksum in a {total}-byte frame"))
                continue
            del self._buf[:total]
            frames.append(self._decode(raw[2:-1]))

    def _drop(self, n: int) -> None:
        if n > 0:
            self.discarded += n
            del self._buf[:n]

    def _reject(self, error: SamCodecError) -> None:
        # Skip one byte so the scan restarts at the next preamble after this one.
        self.bad_frames += 1
        self.errors.append(error)
        self._drop(1)

    def _decode(self, body: bytes) -> FrameT:
        raise NotImplementedError


class FrameParser(_Scanner[Response]):
    """Parses reader replies from a byte stream fed in arbitrary chunks."""

    min_len = MIN_RESPONSE_LEN

    def _decode(self, body: bytes) -> Response:
        return Response(body[0], body[1], body[2], body[3:])


class RequestParser(_Scanner[Request]):
    """Parses host requests (the simulator's side)."""

    min_len = MIN_REQUEST_LEN

    def _decode(self, body: bytes) -> Request:
        return Request(body[0], body[1], body[2:])


def _partial_preamble(buf: bytearray) -> int:
    """Length of the longest suffix of ``buf`` that is a proper prefix of the preamble."""
    for n in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1):
        if buf.endswith(PREAMBLE[:n]):
            return n
    return 0


def parse_response(frame: bytes) -> Response:
    """Parse exactly one complete reply frame; raises SamCodecError on any defect."""
    parser = FrameParser()
    frames = parser.feed(frame)
    if parser.errors:
        raise parser.errors[0]
    if len(frames) != 1 or parser.pending or parser.discarded:
        raise SamFrameError(f"expected one complete frame, got {len(frames)} ({len(frame)} bytes)")
    return frames[0]


def describe(status: int) -> str:
    """A short English name of an SW3 code for logs and health details."""
    named = SamStatus.of(status)
    return f"{status:02X} {named.name.lower()}" if named else f"{status:02X} unknown"
