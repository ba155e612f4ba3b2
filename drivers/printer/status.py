"""Parsing DLE EOT real-time status bytes into named faults (docs/protocols/escpos.md).

A reply byte has the form ``0xx1xx10`` (bit1 = bit4 = 1, bit0 = bit7 = 0); any other
byte is not a status reply and raises :class:`drivers.errors.ProtocolError`.

Status profiles (the printer's ``status`` option):

- ``escpos``: the standard form above, strictly;
- ``presenter``: kiosk printers with a presenter set bit 7 of the DLE EOT 1 reply while
  a ticket waits in the presenter (0x92): reported as ``ticket_in_presenter``, which
  is not a fault (the printer still prints);
- ``none``: write-only printers that never answer; nothing is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from drivers.errors import ProtocolError
from drivers.health import COVER_OPEN, CUTTER_ERROR, PAPER_NEAR_END, PAPER_OUT, TICKET_IN_PRESENTER

OFFLINE = "offline"
PAPER_FEED_BUTTON = "paper_feed_button"
PRINTER_ERROR = "printer_error"
RECOVERABLE_ERROR = "recoverable_error"
UNRECOVERABLE_ERROR = "unrecoverable_error"
AUTO_RECOVERABLE_ERROR = "auto_recoverable_error"

StatusProfile = Literal["escpos", "presenter", "none"]
PROFILES: tuple[StatusProfile, ...] = ("escpos", "presenter", "none")
# Bit 7 of the DLE EOT 1 reply on presenter printers: a ticket not yet taken.
PRESENTER_BIT = 0x80

# Faults that stop printing; paper_near_end (and the feed button) still print.
BLOCKING = frozenset(
    {OFFLINE, COVER_OPEN, PAPER_OUT, PRINTER_ERROR, CUTTER_ERROR, RECOVERABLE_ERROR, UNRECOVERABLE_ERROR,
     AUTO_RECOVERABLE_ERROR}
)

# n -> [(mask, fault)]: a fault is present when any bit of its mask is set.
_BITS: dict[int, list[tuple[int, str]]] = {
    1: [(0x08, OFFLINE)],
    2: [(0x04, COVER_OPEN), (0x08, PAPER_FEED_BUTTON), (0x20, PAPER_OUT), (0x40, PRINTER_ERROR)],
    3: [(0x04, RECOVERABLE_ERROR), (0x08, CUTTER_ERROR), (0x20, UNRECOVERABLE_ERROR), (0x40, AUTO_RECOVERABLE_ERROR)],
    4: [(0x0C, PAPER_NEAR_END), (0x60, PAPER_OUT)],
}


def is_status_byte(value: int) -> bool:
    """True when ``value`` has the fixed bits of a DLE EOT reply (0xx1xx10)."""
    return value & 0b1001_0011 == 0b0001_0010


def is_reply(n: int, value: int, profile: StatusProfile = "escpos") -> bool:
    """True when ``value`` is a valid reply to DLE EOT ``n`` under ``profile``."""
    if not 0 <= value <= 0xFF:
        return False
    if profile == "presenter" and n == 1:
        value &= ~PRESENTER_BIT
    return is_status_byte(value)


def parse_status(n: int, value: int, profile: StatusProfile = "escpos") -> frozenset[str]:
    """Named faults (and the presenter state) in the reply ``value`` to DLE EOT ``n``."""
    if n not in _BITS:
        raise ValueError(f"DLE EOT n must be 1..4, got {n}")
    if not is_reply(n, value, profile):
        raise ProtocolError(f"not a status byte: 0x{value & 0xFF:02x} (DLE EOT {n}, status: {profile})")
    found = {fault for mask, fault in _BITS[n] if value & mask}
    if profile == "presenter" and n == 1 and value & PRESENTER_BIT:
        found.add(TICKET_IN_PRESENTER)
    return frozenset(found)


@dataclass(frozen=True)
class PrinterStatus:
    """The combined answer to DLE EOT 1, 2, 4 (and 3 when asked)."""

    faults: frozenset[str]
    raw: Mapping[int, int]

    @property
    def blocking(self) -> frozenset[str]:
        """Faults that prevent printing."""
        return self.faults & BLOCKING

    @property
    def ok(self) -> bool:
        """True when the printer can print (near-end paper is fine)."""
        return not self.blocking

    @property
    def in_presenter(self) -> bool:
        """True when a printed ticket still waits in the presenter (not a fault)."""
        return TICKET_IN_PRESENTER in self.faults

    @property
    def main_fault(self) -> str | None:
        """The single most useful fault name for a user, most specific first."""
        for name in (PAPER_OUT, COVER_OPEN, CUTTER_ERROR, UNRECOVERABLE_ERROR, RECOVERABLE_ERROR,
                     AUTO_RECOVERABLE_ERROR, PRINTER_ERROR, OFFLINE, PAPER_NEAR_END):
            if name in self.faults:
                return name
        return None


def combine(replies: Mapping[int, int], profile: StatusProfile = "escpos") -> PrinterStatus:
    """Combine replies {n: byte}; ``offline`` is dropped when a cause explains it."""
    faults: set[str] = set()
    for n, value in replies.items():
        faults |= parse_status(n, value, profile)
    faults.discard(PAPER_FEED_BUTTON)  # paper being fed by the button is not a fault
    if OFFLINE in faults and faults & (BLOCKING - {OFFLINE}):
        faults.discard(OFFLINE)
    return PrinterStatus(frozenset(faults), dict(replies))
