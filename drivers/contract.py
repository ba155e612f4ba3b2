"""What each kind of device promises to the server: one Protocol per device kind.

Every device is an async context manager (``open``/``close``) with a ``health``;
input devices yield their events as async iterators. The data classes here are the
only vocabulary shared between the server and the drivers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from drivers.health import Health


@runtime_checkable
class Device(Protocol):
    """Lifecycle and health common to every device (``drivers.base.Device`` implements it)."""

    kind: ClassVar[str]
    device_id: str

    @property
    def health(self) -> Health: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc: object) -> None: ...


# --- ticket and document printers -------------------------------------------------


@dataclass(frozen=True)
class TicketContent:
    """Everything printed on a queue ticket."""

    hall_name: str
    service_name: str
    number: str
    ahead: int | None
    eta_minutes: int | None
    issued_at: datetime
    qr_url: str
    notice: str = ""
    footer: str = ""
    masked_name: str | None = None
    window_hint: str | None = None
    # the wait as printed (displays/wording.py eta_line: 预计等待 约20–80分钟 when uncertain); wins over eta_minutes
    eta_text: str | None = None


@dataclass(frozen=True)
class PrintResult:
    """Whether a job was printed, and if not, the named fault."""

    printed: bool
    fault: str | None = None
    detail: str | None = None
    job_id: int | None = None


class TicketPrinter(Device, Protocol):
    """A thermal ticket printer at a kiosk."""

    async def print_ticket(self, ticket: TicketContent) -> PrintResult: ...


class DocumentPrinter(Device, Protocol):
    """An A4 printer (one-time notice lists, receipts) reached through CUPS."""

    async def print_document(self, data: bytes, title: str, mime: str = "application/pdf") -> PrintResult: ...


# --- ID-card readers ----------------------------------------------------------------


@dataclass(frozen=True)
class CardEvent:
    """A card laid on (``placed``) or lifted from (``removed``) a reader, or a failed read."""

    kind: str  # "placed" | "removed" | "read_failed"
    card: Any = None  # drivers.idcard.IdCard when placed
    detail: str | None = None


class IdCardReader(Device, Protocol):
    """A resident ID-card reader; yields one ``placed`` per placement."""

    def events(self) -> AsyncIterator[CardEvent]: ...


# --- LED strips -----------------------------------------------------------------------


@dataclass(frozen=True)
class LedText:
    """Text for one area of an LED display."""

    text: str
    area: int = 0
    color: str = "red"  # red | green | yellow
    effect: str = "static"  # static | scroll_left | …
    align: str = "center"


class LedDisplay(Device, Protocol):
    """A window strip (条屏) or hall strip."""

    async def show(self, text: LedText) -> None: ...

    async def clear(self) -> None: ...


# --- keypads (呼叫器, 评价器) ------------------------------------------------------------


@dataclass(frozen=True)
class KeypadEvent:
    """A key press on a caller keypad or a value from an evaluator keypad."""

    address: int
    kind: str  # "caller" | "evaluator"
    # caller: call_next, recall, rate, pause, transfer, no_show, suspend, callback, cancel,
    # call_number (a number typed + OK on a caller model that supports it; value = the number);
    # evaluator: "rating"
    key: str
    value: int | None = None  # evaluator: 1..5 好差评 level after the key map; call_number: the number
    raw: bytes = b""
    digits: str = ""  # call_number: the digits as typed (keeps leading zeros)


class KeypadBus(Device, Protocol):
    """A bus of caller and evaluator keypads (e.g. FF 68 over RS-485)."""

    def events(self) -> AsyncIterator[KeypadEvent]: ...

    async def show_ticket(self, address: int, number: int | None) -> None: ...

    async def show_waiting(self, address: int, count: int) -> None: ...

    async def beep(self, address: int) -> None: ...

    async def start_evaluation(self, address: int) -> None: ...


# --- announcer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Announcement:
    """Rendered speech for one sentence: WAV bytes, duration, and whether it came from cache."""

    text: str
    wav: bytes
    seconds: float
    cached: bool = False


class Announcer(Device, Protocol):
    """Speaks sentences (espeak-ng, recorded clips); announcements never overlap."""

    async def render(self, text: str) -> Announcement: ...

    async def announce(self, text: str) -> Announcement: ...


# --- cameras -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """The newest frame of a camera (BGR numpy array) and when it was read."""

    image: Any
    at: float
    index: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


class Camera(Device, Protocol):
    """A video source; keeps only the newest frame."""

    def latest(self) -> Frame | None: ...


# --- SMS modems and code scanners (issue 17) ------------------------------------------------


class SmsModem(Device, Protocol):
    """A GSM modem (短信猫) sending SMS; ``drivers.gsm.driver.GsmModem``."""

    async def send_sms(self, number: str, text: str) -> Any: ...


class CodeScanner(Device, Protocol):
    """A kiosk QR/barcode scanner yielding each code read; ``drivers.scanner.driver.SerialScanner``."""

    def events(self) -> AsyncIterator[Any]: ...


KINDS: dict[str, object] = {
    "ticket_printer": TicketPrinter,
    "document_printer": DocumentPrinter,
    "idcard_reader": IdCardReader,
    "led_display": LedDisplay,
    "keypad_bus": KeypadBus,
    "announcer": Announcer,
    "camera": Camera,
    "sms_modem": SmsModem,
    "code_scanner": CodeScanner,
}
