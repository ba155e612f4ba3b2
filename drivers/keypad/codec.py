"""The "FF 68" keypad-bus codec: frames, an incremental parser, key tables, evaluator maps.

See docs/protocols/ff68-keypad-bus.md. A frame is::

    FF 68 | L | L | 68 | ADDR | FUNC | DATA… | CS | 16      CS = (ADDR + FUNC + ΣDATA) mod 256

There is no public standard, so everything dialect-specific (bytes, length limits,
checksum, key codes) lives in a :class:`Dialect` table; another vendor's bus is a new
table, not new code.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from drivers.errors import ChecksumError, ProtocolError

BLANK = 0x0A  # a blank digit on a keypad display


class KeypadProtocolError(ProtocolError):
    """A keypad frame that cannot be decoded."""


class KeypadChecksumError(ChecksumError, KeypadProtocolError):
    """A keypad frame whose checksum is wrong."""


def sum_checksum(body: bytes) -> int:
    """DL/T 645 style: the byte sum mod 256."""
    return sum(body) & 0xFF


@dataclass(frozen=True)
class Dialect:
    """Byte-level facts of one keypad-bus dialect."""

    name: str
    wake: bytes = b"\xff"
    start: int = 0x68
    end: int = 0x16
    min_len_in: int = 3  # keypad→host: reject L ≤ 2 …
    max_len_in: int = 5  # … and L > 5
    max_len_out: int = 32  # host→keypad frames can be longer (display)
    checksum: Callable[[bytes], int] = sum_checksum
    func_evaluator: int = 0x11
    func_ack: int = 0x01
    func_display: int = 0x02
    func_beep: int = 0x03
    func_evaluate: int = 0x01
    evaluate_code: int = 0x0B
    func_stars: int = 0x02
    func_key: int = 0x01  # what our simulator sends for a caller key (any ≠ 0x11 is a key)
    # caller keys: last DATA byte -> key name; "OK"-terminated codes use the digit before it
    keys: Mapping[int, str] = field(
        default_factory=lambda: {0x0C: "call_next", 0x0D: "recall", 0x0B: "rate", 0x12: "pause", 0x13: "transfer",
                                 0x0E: "cancel"}
    )  # fmt: skip
    ok_key: int = 0x0F
    ok_codes: Mapping[int, str] = field(default_factory=lambda: {0x06: "no_show", 0x00: "suspend", 0x03: "callback"})


FF68 = Dialect("ff68")
# Numeric callers that send longer digit entries in one frame (unverified on hardware).
FF68_LONG = Dialect("ff68_long", max_len_in=8)
DIALECTS: dict[str, Dialect] = {FF68.name: FF68, FF68_LONG.name: FF68_LONG}

# Evaluator value -> 好差评 level (5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意).
# Every default is "verify on site" (``hallq devices commission`` confirms them):
# - four_key follows the one public FF 68 host (a C# hall system in production), which
#   maps 0 不满意 … 3 非常满意 — the reverse of hallq's earlier default;
# - five_key (0 非常满意 … 4 非常不满意) has no independent source: it is hallq's own guess;
# - three_key (0 不满意, 1 基本满意, 2 满意) follows the four_key order; no source either.
EVALUATOR_MAPS: dict[str, dict[int, int]] = {
    "three_key": {0: 2, 1: 3, 2: 4},
    "four_key": {0: 2, 1: 3, 2: 4, 3: 5},
    "five_key": {0: 5, 1: 4, 2: 3, 3: 2, 4: 1},
}
MAP_SOURCES: dict[str, str] = {
    "three_key": "hallq default, no independent source (verify on site)",
    "four_key": "the public C# FF 68 host: 0 不满意 … 3 非常满意 (verify on site)",
    "five_key": "hallq default, no independent source (verify on site)",
}
LEVEL_NAMES: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

# Caller models: what a digit entry followed by OK means.
# - standard: the public host's caller; only "one digit + OK" acts (ok_codes); more
#   digits + OK is refused with a beep (``1 0 OK`` must not suspend);
# - numeric: a caller whose "number + OK" means "call this ticket number"; in the ff68
#   dialect (L ≤ 5) a frame carries at most 2 digits + OK, ``ff68_long`` (L ≤ 8) up to 5.
CALLER_MODELS: dict[str, bool] = {"standard": False, "numeric": True}  # model -> call-number support
MAX_DISPLAY = 999


@dataclass(frozen=True)
class KeypadFrame:
    """ADDR, FUNC and DATA of one frame (wire bytes in ``raw`` when parsed)."""

    address: int
    func: int
    data: bytes = b""
    raw: bytes = b""


def encode(address: int, func: int, data: bytes = b"", dialect: Dialect = FF68) -> bytes:
    """Wire bytes of a frame."""
    if not 0 <= address <= 0xFF:
        raise ValueError(f"address {address} out of range")
    body = bytes((address, func)) + data
    n = len(body)
    head = dialect.wake + bytes((dialect.start, n, n, dialect.start))
    return head + body + bytes((dialect.checksum(body), dialect.end))


def digits(value: int | None, width: int = 3, *, saturate: bool = True) -> bytes:
    """``value`` as ``width`` raw digits, or blanks for None.

    A count saturates (1234 waiting shows 999: "234" would understate the queue); a ticket
    number (``saturate=False``) keeps its last digits, the part a citizen compares.
    """
    if value is None:
        return bytes([BLANK] * width)
    value = abs(value)
    text = str(min(value, 10**width - 1) if saturate else value % 10**width).rjust(width, "0")
    return bytes(int(c) for c in text)


def display(address: int, ticket: int | None, waiting: int | None = None, dialect: Dialect = FF68) -> bytes:
    """Show the waiting count (left 3 digits) and the ticket number (right 3 digits)."""
    return encode(address, dialect.func_display, digits(waiting) + digits(ticket, saturate=False), dialect)


def beep(address: int, dialect: Dialect = FF68) -> bytes:
    """Make a keypad beep."""
    return encode(address, dialect.func_beep, b"", dialect)


def start_evaluation(address: int, dialect: Dialect = FF68) -> bytes:
    """Ask an evaluator to start a rating."""
    return encode(address, dialect.func_evaluate, bytes((dialect.evaluate_code,)), dialect)


def show_stars(address: int, stars: int, dialect: Dialect = FF68) -> bytes:
    """Show service stars on an evaluator."""
    return encode(address, dialect.func_stars, bytes((stars,)), dialect)


def key_frame(address: int, key: str, dialect: Dialect = FF68) -> bytes:
    """What a caller keypad sends for the named key (used by the simulator and tests)."""
    for code, name in dialect.keys.items():
        if name == key:
            return encode(address, dialect.func_key, bytes((code,)), dialect)
    for digit, name in dialect.ok_codes.items():
        if name == key:
            return encode(address, dialect.func_key, bytes((digit, dialect.ok_key)), dialect)
    raise ValueError(f"unknown key {key!r}")


def rating_frame(address: int, value: int, dialect: Dialect = FF68) -> bytes:
    """What an evaluator sends for key index ``value``."""
    return encode(address, dialect.func_evaluator, bytes((value,)), dialect)


def ack_for(frame: KeypadFrame, dialect: Dialect = FF68) -> bytes:
    """The host's acknowledgement: echo a key frame; FUNC 01 + value for an evaluator frame."""
    if frame.func == dialect.func_evaluator:
        return encode(frame.address, dialect.func_ack, frame.data, dialect)
    return frame.raw or encode(frame.address, frame.func, frame.data, dialect)


def is_evaluator(frame: KeypadFrame, dialect: Dialect = FF68) -> bool:
    """True for an evaluator result frame."""
    return frame.func == dialect.func_evaluator


@dataclass(frozen=True)
class CallerInput:
    """What a caller frame says: a named key, a digit entry + OK, or nothing known."""

    key: str | None  # a key name, "entry" (digits + OK without a one-digit meaning) or None
    digits: str = ""  # the digits typed before OK ("" for plain keys)


def caller_input(
    frame: KeypadFrame,
    dialect: Dialect = FF68,
    keys: Mapping[int, str] | None = None,
    ok_codes: Mapping[int, str] | None = None,
) -> CallerInput:
    """Decode a caller frame: OK acts on a digit code only when exactly one digit precedes it."""
    keys = dialect.keys if keys is None else keys
    ok_codes = dialect.ok_codes if ok_codes is None else ok_codes
    if not frame.data:
        return CallerInput(None)
    last = frame.data[-1]
    if last != dialect.ok_key:
        return CallerInput(keys.get(last))
    typed = frame.data[:-1]
    if not typed or any(d > 9 for d in typed):
        return CallerInput(None)
    text = "".join(str(d) for d in typed)
    if len(typed) == 1 and typed[0] in ok_codes:
        return CallerInput(ok_codes[typed[0]], text)
    return CallerInput("entry", text)


def caller_key(frame: KeypadFrame, dialect: Dialect = FF68) -> str | None:
    """The key name of a caller frame, or None (a multi-digit entry is not a key)."""
    key = caller_input(frame, dialect).key
    return None if key == "entry" else key


def entry_frame(address: int, typed: str, dialect: Dialect = FF68) -> bytes:
    """What a caller sends for digits ``typed`` followed by OK (simulator and tests)."""
    if not typed or not typed.isdigit():
        raise ValueError(f"not a digit entry: {typed!r}")
    return encode(address, dialect.func_key, bytes(int(c) for c in typed) + bytes((dialect.ok_key,)), dialect)


class KeypadParser:
    """Incremental parser with resync: feed bytes, get valid frames; bad bytes are skipped."""

    def __init__(self, dialect: Dialect = FF68, *, inbound: bool = True, max_errors_kept: int = 16) -> None:
        self.dialect = dialect
        self.min_len = dialect.min_len_in if inbound else 2
        self.max_len = dialect.max_len_in if inbound else dialect.max_len_out
        self._buf = bytearray()
        self.errors: deque[KeypadProtocolError] = deque(maxlen=max_errors_kept)
        self.error_count = 0

    def _reject(self, error: KeypadProtocolError) -> None:
        self.errors.append(error)
        self.error_count += 1

    def feed(self, data: bytes) -> list[KeypadFrame]:
        """Consume ``data``; return every complete valid frame."""
        buf = self._buf
        buf += data
        out: list[KeypadFrame] = []
        d = self.dialect
        while True:
            i = buf.find(d.start)
            if i < 0:
                buf.clear()
                break
            if i:
                del buf[:i]
            if len(buf) < 4:
                break
            n = buf[1]
            if buf[2] != n or buf[3] != d.start or not self.min_len <= n <= self.max_len:
                del buf[:1]  # not a header here: slide by one byte and look again
                continue
            total = 4 + n + 2
            if len(buf) < total:
                break
            body = bytes(buf[4 : 4 + n])
            if buf[total - 1] != d.end:
                self._reject(KeypadProtocolError(f"missing end byte in {bytes(buf[:total]).hex(' ')}"))
                del buf[:1]
                continue
            if d.checksum(body) != buf[total - 2]:
                self._reject(KeypadChecksumError(f"bad checksum in {bytes(buf[:total]).hex(' ')}"))
                del buf[:1]
                continue
            raw = d.wake + bytes(buf[:total])
            out.append(KeypadFrame(body[0], body[1], body[2:], raw))
            del buf[:total]
        return out

    def reset(self) -> None:
        """Forget buffered bytes."""
        self._buf.clear()
