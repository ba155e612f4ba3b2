"""AT command framing for GSM modems (3GPP TS 27.007 / TS 27.005), built apart from the connection.

The modem answers each command line (``AT…<CR>``) with zero or more information lines and
one final result code (``OK``, ``ERROR``, ``+CME ERROR: <n>``, ``+CMS ERROR: <n>``), each
line framed ``<CR><LF>…<CR><LF>`` (V.250 verbose mode). ``AT+CMGS`` first answers with the
prompt ``<CR><LF>> `` and waits for the PDU ended by Ctrl-Z (0x1A; ESC 0x1B cancels).
Unsolicited result codes arrive at any time; ``+CDS: <length>`` (a status report,
TS 27.005 §3.4.1) and ``+CMT:`` are followed by one PDU line.

:class:`AtParser` turns received bytes into :class:`Final`, :class:`Prompt` and
:class:`Unsolicited` items and never raises: noise, echoes and overlong lines are counted
and dropped. The ``parse_*`` helpers read the information lines of ``+CPIN?``, ``+CREG?``,
``+CSQ`` and ``+CMGS`` and raise :class:`AtError` (a ProtocolError) on a malformed line.
Notes and golden vectors: docs/protocols/gsm-at.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from drivers.errors import ProtocolError

CR = b"\r"
LF = b"\n"
CTRL_Z = b"\x1a"
ESC = b"\x1b"
MAX_LINE = 1024  # a PDU line is at most 2 * 176 hex digits; anything longer is noise

# Unsolicited result codes this driver listens for; ``+CDS:`` and ``+CMT:`` carry a PDU line.
UNSOLICITED = ("+CDS:", "+CDSI:", "+CMTI:", "+CMT:", "+CBM:", "RING", "+CREG:", "^RSSI:", "+CUSD:")
WITH_PDU = ("+CDS:", "+CMT:", "+CBM:")
FINAL_OK = ("OK",)
FINAL_ERRORS = ("ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT")

# TS 27.007 §9.2.1 (+CME) and TS 27.005 §3.2.5 (+CMS) codes this driver names
CME_SIM_NOT_INSERTED = 10
CME_SIM_PIN_REQUIRED = 11
CME_SIM_FAILURE = 13
CME_SIM_BUSY = 14
CMS_SIM_NOT_INSERTED = 310
CMS_NO_NETWORK = 331
CMS_NETWORK_TIMEOUT = 332
CMS_UNKNOWN_ERROR = 500
SIM_ERRORS = frozenset({CME_SIM_NOT_INSERTED, CME_SIM_FAILURE, CMS_SIM_NOT_INSERTED})


class AtError(ProtocolError):
    """An information line that does not follow the AT syntax expected."""


@dataclass(frozen=True)
class Final:
    """A command's answer: its information lines and the final result code."""

    ok: bool
    code: str  # "OK", "ERROR", "+CME ERROR", "+CMS ERROR" …
    error: int | None = None  # the numeric +CME/+CMS error (AT+CMEE=1)
    lines: tuple[str, ...] = ()
    detail: str = ""  # a verbose error text (AT+CMEE=2)

    def info(self, prefix: str) -> str | None:
        """The first information line starting with ``prefix`` (e.g. ``+CSQ:``), without it."""
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        return None


@dataclass(frozen=True)
class Prompt:
    """The ``> `` prompt of ``AT+CMGS``: send the PDU and Ctrl-Z now."""


@dataclass(frozen=True)
class Unsolicited:
    """An unsolicited result code (``+CDS: 25`` …) and the PDU line that followed it, if any."""

    name: str  # "+CDS" …
    value: str
    pdu: str | None = None


Item = Final | Prompt | Unsolicited


@dataclass
class AtParser:
    """Incremental parser of modem output; ``feed`` returns the complete items, never raises."""

    dropped: int = 0  # noise: overlong or undecodable lines
    _buf: bytearray = field(default_factory=bytearray)
    _lines: list[str] = field(default_factory=list)
    _waiting_pdu: Unsolicited | None = None

    def feed(self, data: bytes) -> list[Item]:
        """Consume bytes; return every complete item in order."""
        self._buf += data
        out: list[Item] = []
        while True:
            stripped = self._buf.lstrip(b"\r\n")
            if stripped[:1] == b">" and self._waiting_pdu is None:
                # the prompt has no line end: "> " (some modems send ">" alone)
                del self._buf[:]
                self._buf += stripped[2:] if stripped[1:2] == b" " else stripped[1:]
                out.append(Prompt())
                continue
            end = self._line_end()
            if end < 0:
                if len(self._buf) > MAX_LINE:
                    self.dropped += 1
                    del self._buf[:]
                break
            raw = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if len(raw) > MAX_LINE:
                self.dropped += 1
                continue
            line = raw.decode("ascii", errors="replace").strip("\r\n \x00")
            if line:
                out.extend(self._line(line))
        return out

    def _line_end(self) -> int:
        cr, lf = self._buf.find(b"\r"), self._buf.find(b"\n")
        ends = [i for i in (cr, lf) if i >= 0]
        return min(ends) if ends else -1

    def _line(self, line: str) -> list[Item]:
        if self._waiting_pdu is not None:
            head, self._waiting_pdu = self._waiting_pdu, None
            if re.fullmatch(r"[0-9A-Fa-f]+", line):
                return [Unsolicited(head.name, head.value, line.upper())]
            # no PDU came: report the header alone and read this line normally
            return [Unsolicited(head.name, head.value), *self._line(line)]
        if "\ufffd" in line:
            self.dropped += 1
            return []
        if line[:2].upper() == "AT":
            return []  # the modem echoing our command (ATE1)
        for name in UNSOLICITED:
            if line.startswith(name) and not self._solicited(name, line):
                value = line[len(name) :].strip()
                head = Unsolicited(name.rstrip(":"), value)
                if name in WITH_PDU:
                    self._waiting_pdu = head
                    return []
                return [head]
        if line in FINAL_OK:
            return [self._final(True, line)]
        if line in FINAL_ERRORS:
            return [self._final(False, line)]
        match = re.fullmatch(r"\+(CME|CMS) ERROR:\s*(.*)", line)
        if match:
            value = match.group(2).strip()
            number = int(value) if value.isdigit() and len(value) < 6 else None
            return [self._final(False, f"+{match.group(1)} ERROR", number, "" if number is not None else value)]
        if len(self._lines) < 64:
            self._lines.append(line)
        else:
            self.dropped += 1
        return []

    @staticmethod
    def _solicited(name: str, line: str) -> bool:
        """``+CREG: 0,1`` (two fields) answers ``AT+CREG?``; ``+CREG: 1`` is the unsolicited form."""
        return name == "+CREG:" and "," in line

    def _final(self, ok: bool, code: str, error: int | None = None, detail: str = "") -> Final:
        lines, self._lines = tuple(self._lines), []
        return Final(ok, code, error, lines, detail)


# --- commands -----------------------------------------------------------------------------


def command(line: str) -> bytes:
    """A command line as sent: ASCII and ``<CR>`` (V.250 §5.2.1)."""
    if "\r" in line or "\n" in line or not line.isascii():
        raise AtError(f"not a command line: {line!r}")
    return line.encode("ascii") + CR


def pdu_body(pdu_hex: str) -> bytes:
    """The PDU sent after the prompt, ended by Ctrl-Z."""
    return pdu_hex.encode("ascii") + CTRL_Z


# --- information lines ------------------------------------------------------------------------


def parse_cpin(final: Final) -> str:
    """``+CPIN: READY`` → ``READY`` (or ``SIM PIN``, ``SIM PUK`` …)."""
    value = final.info("+CPIN:")
    if value is None:
        raise AtError("+CPIN? answered without +CPIN:")
    return value.strip('"')


@dataclass(frozen=True)
class Registration:
    """``+CREG: <n>,<stat>``: whether the modem is on a network (TS 27.007 §7.2)."""

    stat: int

    @property
    def registered(self) -> bool:
        """1 = home network, 5 = roaming."""
        return self.stat in (1, 5)

    @property
    def label(self) -> str:
        """The stat in words."""
        return {0: "not registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}.get(
            self.stat, f"stat {self.stat}"
        )


def parse_creg(final: Final) -> Registration:
    """``+CREG: 0,1`` → Registration(1); the unsolicited form ``+CREG: 1`` is read too."""
    value = final.info("+CREG:")
    if value is None:
        raise AtError("+CREG? answered without +CREG:")
    fields = [f.strip() for f in value.split(",")]
    try:
        stat = int(fields[1] if len(fields) > 1 else fields[0])
    except ValueError:
        raise AtError(f"bad +CREG: {value!r}") from None
    return Registration(stat)


@dataclass(frozen=True)
class Signal:
    """``+CSQ: <rssi>,<ber>`` (TS 27.007 §8.5): 0..31, 99 unknown."""

    rssi: int
    ber: int

    @property
    def dbm(self) -> int | None:
        """Received signal strength in dBm (-113 + 2·rssi), None when unknown."""
        return None if self.rssi == 99 else -113 + 2 * self.rssi

    @property
    def bars(self) -> int:
        """0..4 for a status display."""
        if self.rssi == 99 or self.rssi < 2:
            return 0
        return 1 if self.rssi < 10 else 2 if self.rssi < 15 else 3 if self.rssi < 20 else 4


def parse_csq(final: Final) -> Signal:
    """``+CSQ: 21,99`` → Signal(21, 99)."""
    value = final.info("+CSQ:")
    match = re.fullmatch(r"(\d{1,3})\s*,\s*(\d{1,3})", value or "")
    if match is None:
        raise AtError(f"bad +CSQ: {value!r}")
    rssi, ber = int(match.group(1)), int(match.group(2))
    if not (0 <= rssi <= 31 or rssi == 99):
        raise AtError(f"+CSQ rssi {rssi} out of range")
    return Signal(rssi, ber)


def parse_cmgs(final: Final) -> int:
    """``+CMGS: 12`` → 12, the TP-MR the network will quote in the status report."""
    value = final.info("+CMGS:")
    match = re.fullmatch(r"(\d{1,3})(,.*)?", value or "")
    if match is None or int(match.group(1)) > 255:
        raise AtError(f"bad +CMGS: {value!r}")
    return int(match.group(1))


def parse_cds_length(value: str) -> int:
    """``+CDS: 25`` → 25 (the TPDU octets of the PDU line that follows)."""
    if not value.isdigit() or int(value) > 200:
        raise AtError(f"bad +CDS length: {value!r}")
    return int(value)
