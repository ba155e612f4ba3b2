"""SMS TPDUs in PDU mode (3GPP TS 23.040, TS 23.038, TS 27.005), built apart from the connection.

- :func:`submit_pdus` splits a text into one or more SMS-SUBMIT PDUs: GSM 7-bit default
  alphabet when every character is in it (basic table or the escape extension), UCS-2
  otherwise (every Chinese text); a text too long for one message is split and each part
  carries a concatenation UDH (IEI 00, 8-bit reference, total, sequence — TS 23.040
  §9.2.3.24.1). Escape pairs and UTF-16 surrogate pairs are never split.
- :func:`decode_submit` reads an SMS-SUBMIT back (the simulator, tests).
- :func:`decode_status_report` reads an SMS-STATUS-REPORT (TS 23.040 §9.2.2.3), as a modem
  delivers it in ``+CDS: <length>`` + PDU line (TS 27.005 §3.4.1).

Every decoding failure is a :class:`PduError` (a :class:`drivers.errors.ProtocolError`).
Byte-level notes and golden vectors: docs/protocols/gsm-at.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from drivers.errors import ProtocolError

# TS 23.038 §6.2.1: the GSM 7-bit default alphabet, index = septet value (0x1B is the escape).
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# TS 23.038 §6.2.1.1: the default extension table, reached through 0x1B.
EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
             "|": 0x40, "€": 0x65}  # fmt: skip
ESCAPE = 0x1B
_BASIC_INDEX = {ch: i for i, ch in enumerate(BASIC) if i != ESCAPE}
_EXTENSION_CHAR = {v: k for k, v in EXTENSION.items()}

DCS_GSM7 = 0x00
DCS_8BIT = 0x04
DCS_UCS2 = 0x08

MTI_SUBMIT = 0b01
MTI_STATUS_REPORT = 0b10
FO_VPF_RELATIVE = 0x10  # TP-VPF = 10 (relative, one octet)
FO_SRR = 0x20  # TP-SRR: a status report is requested
FO_UDHI = 0x40  # TP-UDHI: TP-UD starts with a header

TOA_INTERNATIONAL = 0x91  # type of address: international number, ISDN plan
TOA_UNKNOWN = 0x81  # unknown type (a national number as dialled), ISDN plan

IEI_CONCAT_8 = 0x00
UD_OCTETS = 140  # TP-UD is at most 140 octets (160 septets)
CONCAT_UDH_OCTETS = 6  # UDHL 05, IEI 00, IEDL 03, reference, total, sequence
MAX_PARTS = 255

_NUMBER = re.compile(r"^\+?[0-9]{1,20}$")


class PduError(ProtocolError):
    """A PDU that cannot be built or does not decode."""


# --- alphabet ---------------------------------------------------------------------------


def gsm7_septets(text: str) -> list[int] | None:
    """``text`` as default-alphabet septets (escape pairs included), or None if it needs UCS-2."""
    out: list[int] = []
    for ch in text:
        if ch in _BASIC_INDEX:
            out.append(_BASIC_INDEX[ch])
        elif ch in EXTENSION:
            out.extend((ESCAPE, EXTENSION[ch]))
        else:
            return None
    return out


def septets_text(septets: list[int]) -> str:
    """Default-alphabet septets back to text (an unknown escape code reads as a space, TS 23.038)."""
    out: list[str] = []
    escaped = False
    for s in septets:
        if escaped:
            out.append(_EXTENSION_CHAR.get(s, " "))
            escaped = False
        elif s == ESCAPE:
            escaped = True
        else:
            out.append(BASIC[s])
    return "".join(out)


def pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB first (TS 23.038 §6.1.2.1.1), after ``fill_bits`` zero bits (UDH alignment)."""
    acc, nbits, out = 0, fill_bits, bytearray()
    for s in septets:
        acc |= (s & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits > 0:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """``count`` septets from packed ``data`` starting after ``fill_bits`` bits."""
    if fill_bits + 7 * count > 8 * len(data):
        raise PduError(f"{count} septets do not fit in {len(data)} octets")
    bits = int.from_bytes(data, "little")
    return [(bits >> (fill_bits + 7 * i)) & 0x7F for i in range(count)]


# --- addresses and time stamps -------------------------------------------------------------


def swap_digits(digits: str) -> bytes:
    """Semi-octets, low nibble first, padded with F (TS 23.040 §9.1.2.3)."""
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def unswap_digits(data: bytes, count: int | None = None) -> str:
    """Semi-octets back to digits (0-9, *, #, a, b, c for nibbles A-C); F padding dropped."""
    table = "0123456789*#abc"
    out = []
    for b in data:
        for nibble in (b & 0x0F, b >> 4):
            if nibble == 0x0F:
                continue
            out.append(table[nibble])
    return "".join(out if count is None else out[:count])


def encode_address(number: str) -> bytes:
    """A TP-DA: digit count, type of address, swapped digits; ``+`` makes it international."""
    if not _NUMBER.match(number):
        raise PduError(f"not a phone number: {number!r}")
    toa = TOA_INTERNATIONAL if number.startswith("+") else TOA_UNKNOWN
    digits = number.lstrip("+")
    return bytes((len(digits), toa)) + swap_digits(digits)


def _decode_address(data: bytes, at: int) -> tuple[str, int]:
    """The address at ``at`` (digit count form) and the offset after it."""
    if at + 2 > len(data):
        raise PduError("address truncated")
    ndigits, toa = data[at], data[at + 1]
    if ndigits > 20:
        raise PduError(f"address of {ndigits} digits")
    end = at + 2 + (ndigits + 1) // 2
    if end > len(data):
        raise PduError("address digits truncated")
    if (toa & 0x70) == 0x50:  # alphanumeric (TON 101): packed 7-bit text
        text = septets_text(unpack_septets(data[at + 2 : end], ndigits * 4 // 7))
        return text, end
    digits = unswap_digits(data[at + 2 : end], ndigits)
    return ("+" + digits if (toa & 0x70) == 0x10 else digits), end


def decode_timestamp(data: bytes) -> datetime | None:
    """A 7-octet TP-SCTS/TP-DT (TS 23.040 §9.2.3.11); None when it is not a valid date."""
    if len(data) != 7:
        raise PduError("time stamp is not 7 octets")
    try:
        year, month, day, hour, minute, second = (int(unswap_digits(bytes((b,)))) for b in data[:6])
        tz = data[6]
        quarters = int(f"{tz & 0x07}{tz >> 4}") if (tz >> 4) <= 9 else 0
        offset = timedelta(minutes=15 * quarters) * (-1 if tz & 0x08 else 1)
        return datetime(2000 + year if year < 70 else 1900 + year, month, day, hour, minute, second,
                        tzinfo=timezone(offset))  # fmt: skip
    except ValueError:
        return None


def encode_timestamp(when: datetime) -> bytes:
    """``when`` (aware) as a 7-octet TP-SCTS/TP-DT."""
    offset = when.utcoffset() or timedelta(0)
    quarters = int(abs(offset).total_seconds() // 900)
    fields = (when.year % 100, when.month, when.day, when.hour, when.minute, when.second)
    out = b"".join(swap_digits(f"{v:02d}") for v in fields)
    tz = swap_digits(f"{quarters:02d}")[0] | (0x08 if offset < timedelta(0) else 0)
    return out + bytes((tz,))


# --- SMS-SUBMIT -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitPdu:
    """One SMS-SUBMIT as sent with ``AT+CMGS=<tpdu_length>`` (hex of SCA + TPDU)."""

    hex: str
    tpdu_length: int  # octets after the SMSC address: the number AT+CMGS takes
    part: int = 1
    parts: int = 1
    reference: int | None = None


def _ucs2_units(text: str) -> list[bytes]:
    """UCS-2 / UTF-16BE code units grouped per character (a surrogate pair stays together)."""
    return [ch.encode("utf-16-be") for ch in text]


def _split(units: list[list[int]] | list[bytes], size: int, weight: object) -> list[list[object]]:
    parts: list[list[object]] = [[]]
    used = 0
    for unit in units:
        n = weight(unit)  # type: ignore[operator]
        if used + n > size:
            parts.append([])
            used = 0
        parts[-1].append(unit)
        used += n
    return parts


def _smsc(smsc: str | None) -> bytes:
    if not smsc:
        return b"\x00"  # length 0: the modem uses the SMSC stored on the SIM (AT+CSCA)
    if not _NUMBER.match(smsc):
        raise PduError(f"not an SMSC number: {smsc!r}")
    digits = smsc.lstrip("+")
    body = bytes((TOA_INTERNATIONAL if smsc.startswith("+") else TOA_UNKNOWN,)) + swap_digits(digits)
    return bytes((len(body),)) + body


def submit_pdus(
    number: str,
    text: str,
    *,
    reference: int = 0,
    status_report: bool = True,
    validity_minutes: int | None = 24 * 60,
    smsc: str | None = None,
    ucs2: bool = False,
) -> list[SubmitPdu]:
    """The SMS-SUBMIT PDUs for ``text`` to ``number``: one, or concatenated parts sharing ``reference``.

    ``ucs2`` forces UCS-2 even for a text the default alphabet could carry.
    """
    if not text:
        raise PduError("empty message")
    address = encode_address(number)
    septets = None if ucs2 else gsm7_septets(text)
    if septets is not None:
        dcs = DCS_GSM7
        # an escape pair is one character: keep 0x1B with the code that follows it
        chars: list[list[int]] = []
        for s in septets:
            if chars and chars[-1] == [ESCAPE]:
                chars[-1].append(s)
            else:
                chars.append([s])
        single = len(septets) <= 160
        groups = [chars] if single else _split(chars, 153, len)
    else:
        dcs = DCS_UCS2
        units = _ucs2_units(text)
        single = sum(len(u) for u in units) <= UD_OCTETS
        groups = [units] if single else _split(units, 134, len)  # type: ignore[assignment]
    if len(groups) > MAX_PARTS:
        raise PduError(f"message needs {len(groups)} parts (at most {MAX_PARTS})")
    total = len(groups)
    first = MTI_SUBMIT | (FO_SRR if status_report else 0) | (FO_VPF_RELATIVE if validity_minutes else 0)
    if total > 1:
        first |= FO_UDHI
    sca = _smsc(smsc)
    out: list[SubmitPdu] = []
    for seq, group in enumerate(groups, start=1):
        udh = bytes((5, IEI_CONCAT_8, 3, reference & 0xFF, total, seq)) if total > 1 else b""
        if dcs == DCS_GSM7:
            body = [s for ch in group for s in ch]  # type: ignore[attr-defined]
            fill = (7 - (len(udh) * 8) % 7) % 7 if udh else 0
            ud = udh + pack_septets(body, fill)
            udl = (len(udh) * 8 + fill) // 7 + len(body)
        else:
            ud = udh + b"".join(group)  # type: ignore[arg-type]
            udl = len(ud)
        tpdu = bytes((first, 0x00)) + address + bytes((0x00, dcs))  # TP-MR 0: the modem numbers it
        if validity_minutes:
            tpdu += bytes((validity_octet(validity_minutes),))
        tpdu += bytes((udl,)) + ud
        out.append(SubmitPdu((sca + tpdu).hex().upper(), len(tpdu), seq, total, reference if total > 1 else None))
    return out


def validity_octet(minutes: int) -> int:
    """TP-VP relative format (TS 23.040 §9.2.3.12.1), rounded up to the next representable period."""
    if minutes <= 12 * 60:
        return max(0, -(-minutes // 5) - 1)
    if minutes <= 24 * 60:
        return 143 + -(-(minutes - 12 * 60) // 30)
    if minutes <= 30 * 24 * 60:
        return min(196, 166 + -(-minutes // (24 * 60)))
    return min(255, 192 + -(-minutes // (7 * 24 * 60)))


@dataclass(frozen=True)
class DecodedSubmit:
    """An SMS-SUBMIT read back: recipient, text of this part, concatenation, flags."""

    number: str
    text: str
    dcs: int
    status_report: bool
    reference: int | None = None
    part: int = 1
    parts: int = 1
    message_reference: int = 0
    tpdu_length: int = 0


def _hex(pdu_hex: str) -> bytes:
    try:
        return bytes.fromhex(pdu_hex.strip())
    except ValueError as exc:
        raise PduError(f"not hexadecimal: {exc}") from None


def _skip_smsc(data: bytes) -> int:
    if not data:
        raise PduError("empty PDU")
    at = 1 + data[0]
    if data[0] > 11 or at > len(data):
        raise PduError("SMSC address truncated")
    return at


def _concat(udh: bytes) -> tuple[int | None, int, int]:
    """(reference, parts, part) from a UDH's concatenation element, (None, 1, 1) without one."""
    at = 0
    while at + 2 <= len(udh):
        iei, length = udh[at], udh[at + 1]
        value = udh[at + 2 : at + 2 + length]
        if len(value) != length:
            raise PduError("UDH element truncated")
        if iei == IEI_CONCAT_8 and length == 3:
            return value[0], value[1], value[2]
        if iei == 0x08 and length == 4:  # 16-bit reference (TS 23.040 §9.2.3.24.8)
            return int.from_bytes(value[:2], "big"), value[2], value[3]
        at += 2 + length
    return None, 1, 1


def _user_data(first: int, dcs: int, udl: int, ud: bytes) -> tuple[str, bytes]:
    """(text, header) of TP-UD with its TP-UDL."""
    udh = b""
    alphabet = 0  # reserved groups decode as the default alphabet (TS 23.038 §4)
    if dcs & 0xC0 == 0x00:  # general data coding group
        alphabet = (dcs >> 2) & 0x03
    elif dcs & 0xF0 == 0xF0:  # data coding / message class group
        alphabet = 1 if dcs & 0x04 else 0
    if alphabet == 0:
        if udl > 160:
            raise PduError(f"TP-UDL {udl} septets")
        fill = 0
        header_septets = 0
        if first & FO_UDHI:
            if not ud:
                raise PduError("UDHI set without user data")
            udh = ud[1 : 1 + ud[0]]
            if len(udh) != ud[0]:
                raise PduError("UDH truncated")
            bits = (ud[0] + 1) * 8
            fill = (7 - bits % 7) % 7
            header_septets = (bits + fill) // 7
            if header_septets > udl:
                raise PduError("UDH longer than TP-UDL")
        body = ud[(len(udh) + 1 if udh or first & FO_UDHI else 0) :]
        septets = unpack_septets(body, udl - header_septets, fill)
        return septets_text(septets), udh
    if udl > UD_OCTETS or udl > len(ud):
        raise PduError(f"TP-UDL {udl} octets, {len(ud)} present")
    ud = ud[:udl]
    if first & FO_UDHI:
        if not ud or 1 + ud[0] > len(ud):
            raise PduError("UDH truncated")
        udh, ud = ud[1 : 1 + ud[0]], ud[1 + ud[0] :]
    if alphabet == 2:
        if len(ud) % 2:
            raise PduError("odd UCS-2 payload")
        return ud.decode("utf-16-be", errors="replace"), udh
    return ud.decode("latin-1"), udh


def decode_submit(pdu_hex: str) -> DecodedSubmit:
    """Read an SMS-SUBMIT (SMSC address + TPDU, as hex) back."""
    data = _hex(pdu_hex)
    at = _skip_smsc(data)
    tpdu_length = len(data) - at
    if at + 2 > len(data):
        raise PduError("SMS-SUBMIT truncated")
    first, mr = data[at], data[at + 1]
    if first & 0x03 != MTI_SUBMIT:
        raise PduError(f"not an SMS-SUBMIT (TP-MTI {first & 0x03})")
    number, at = _decode_address(data, at + 2)
    if at + 2 > len(data):
        raise PduError("SMS-SUBMIT truncated after the address")
    dcs = data[at + 1]
    at += 2
    vpf = (first >> 3) & 0x03
    at += {0: 0, 2: 1, 1: 7, 3: 7}[vpf]
    if at >= len(data):
        raise PduError("SMS-SUBMIT has no TP-UDL")
    udl = data[at]
    text, udh = _user_data(first, dcs, udl, data[at + 1 :])
    reference, parts, part = _concat(udh)
    return DecodedSubmit(number, text, dcs, bool(first & FO_SRR), reference, part, parts, mr, tpdu_length)


# --- SMS-STATUS-REPORT -------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusReport:
    """A delivery report for message reference ``reference`` (TS 23.040 §9.2.2.3)."""

    reference: int
    recipient: str
    status: int  # TP-ST (§9.2.3.15)
    submitted: datetime | None
    discharged: datetime | None

    @property
    def delivered(self) -> bool:
        """The recipient has the message (0x00-0x1F: transaction completed successfully)."""
        return self.status < 0x20

    @property
    def final(self) -> bool:
        """No more reports will follow (delivered, or the SC gave up: 0x40-0x7F)."""
        return self.status < 0x20 or self.status >= 0x40

    @property
    def outcome(self) -> str:
        """``delivered``, ``pending`` (SC still trying) or ``failed``."""
        return "delivered" if self.delivered else "failed" if self.final else "pending"


def decode_status_report(pdu_hex: str, *, with_smsc: bool = True) -> StatusReport:
    """Read an SMS-STATUS-REPORT (as ``+CDS`` gives it: SMSC address first, unless ``with_smsc`` is False)."""
    data = _hex(pdu_hex)
    at = _skip_smsc(data) if with_smsc else 0
    if at + 2 > len(data):
        raise PduError("status report truncated")
    first, mr = data[at], data[at + 1]
    if first & 0x03 != MTI_STATUS_REPORT:
        raise PduError(f"not an SMS-STATUS-REPORT (TP-MTI {first & 0x03})")
    recipient, at = _decode_address(data, at + 2)
    if at + 15 > len(data):
        raise PduError("status report truncated after the address")
    submitted = decode_timestamp(data[at : at + 7])
    discharged = decode_timestamp(data[at + 7 : at + 14])
    return StatusReport(mr, recipient, data[at + 14], submitted, discharged)


def encode_status_report(reference: int, recipient: str, status: int, submitted: datetime,
                         discharged: datetime, smsc: str | None = None) -> str:  # fmt: skip
    """An SMS-STATUS-REPORT as hex with its SMSC address (the simulator's ``+CDS``)."""
    tpdu = bytes((0x06, reference & 0xFF)) + encode_address(recipient)  # TP-MTI 10, TP-MMS 1 (no more messages)
    tpdu += encode_timestamp(submitted) + encode_timestamp(discharged) + bytes((status & 0xFF,))
    return (_smsc(smsc) + tpdu).hex().upper()


def status_report_length(pdu_hex: str) -> int:
    """The ``<length>`` of ``+CDS: <length>``: TPDU octets, the SMSC address not counted."""
    data = _hex(pdu_hex)
    return len(data) - _skip_smsc(data)
