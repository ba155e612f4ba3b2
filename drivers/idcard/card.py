"""An ID card as read from the SAM: text block parsing, validation and masking.

The raw ID number and the photo are personal data: :class:`IdCard`'s ``repr`` shows
only masked values, so a card that ends up in a log line leaks nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

from drivers.idcard.codec import CardDataError, Response
from drivers.idcard.layout import LAYOUTS, PERMANENT, PHOTO_LEN, TEXT_LEN, Field, read_field, type_code

GENDERS: dict[str, str] = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

_NATION_NAMES = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜",
    "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒",
    "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴",
    "珞巴", "基诺", "其他", "外国血统中国籍人士",
)
NATIONS: dict[str, str] = dict(
    zip([f"{i:02d}" for i in range(1, 57)] + ["97", "98"], _NATION_NAMES, strict=True)
)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


class CardType(StrEnum):
    """Kinds of cards a SAM reads (the type byte at offset 248)."""

    RESIDENT = "resident"  # 居民身份证
    PERMIT_HMT = "permit_hmt"  # J: 港澳台居民居住证
    FOREIGNER_2017 = "foreigner_2017"  # I: 外国人永久居留身份证 (2017)
    FOREIGNER_2023 = "foreigner_2023"  # Y: 外国人永久居留身份证 (2023)
    UNKNOWN = "unknown"


TYPE_CODES: dict[str, CardType] = {
    "": CardType.RESIDENT,
    "0": CardType.RESIDENT,
    "J": CardType.PERMIT_HMT,
    "I": CardType.FOREIGNER_2017,
    "Y": CardType.FOREIGNER_2023,
}
CODE_OF_TYPE: dict[CardType, str] = {
    CardType.RESIDENT: "",
    CardType.PERMIT_HMT: "J",
    CardType.FOREIGNER_2017: "I",
    CardType.FOREIGNER_2023: "Y",
}


class PhotoDecoder(Protocol):
    """Turns the encrypted 1024-byte WLT photo into an image (vendor libraries only)."""

    def decode(self, wlt: bytes) -> bytes | None: ...


class NoPhotoDecoder:
    """The default: no photo (WLT decoding needs a licensed vendor library)."""

    def decode(self, wlt: bytes) -> bytes | None:
        """Always None."""
        return None


# --- GB 11643 -----------------------------------------------------------------------


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_yyyymmdd(text: str) -> date | None:
    """A YYYYMMDD date, or None when it is not a real date."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def number_problem(number: str, today: date | None = None) -> str | None:
    """Why an 18-character GB 11643 number is invalid (None when valid)."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return "format"
    if check_digit(number[:17]) != number[17]:
        return "check_digit"
    born = parse_yyyymmdd(number[6:14])
    if born is None or born.year < 1870 or (today is not None and born > today):
        return "birth_date"
    return None


def is_valid_number(number: str, today: date | None = None) -> bool:
    """True for a well-formed number with a correct check digit and birth date."""
    return number_problem(number, today) is None


# --- masking ------------------------------------------------------------------------


def mask_number(number: str) -> str:
    """``110105********002X``: first 6 and last 4 kept (shorter numbers keep less)."""
    if len(number) >= 14:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if len(number) >= 6:
        return number[:2] + "*" * (len(number) - 4) + number[-2:]
    return "*" * len(number)


def mask_name(name: str) -> str:
    """``张*明`` / ``张*`` for Chinese names; Latin names keep each word's initial."""
    name = name.strip()
    if not name:
        return ""
    if " " in name or name.isascii():
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# --- the card -----------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class IdCard:
    """The text of an ID card (plus the untouched photo); repr shows only masked values."""

    card_type: CardType
    id_number: str
    name: str
    gender: str = "0"  # code, see GENDERS
    birth_date: date | None = None
    valid_from: date | None = None
    valid_to: date | None = None  # None with permanent=True for 长期
    permanent: bool = False
    nation: str = ""  # code, see NATIONS (resident cards)
    address: str = ""
    authority: str = ""
    english_name: str = ""
    nationality: str = ""  # ISO 3166 alpha-3 (foreigner cards)
    pass_number: str = ""  # J: 港澳台居民来往内地通行证号码
    issue_count: str = ""
    photo: bytes = field(default=b"", compare=False)
    fingerprint: bytes = field(default=b"", compare=False)

    def __repr__(self) -> str:
        return f"IdCard({self.card_type.value}, {self.masked_id}, {self.masked_name})"

    __str__ = __repr__

    @property
    def masked_id(self) -> str:
        """The number with its middle hidden."""
        return mask_number(self.id_number)

    @property
    def masked_name(self) -> str:
        """The name with its middle hidden (Chinese name, else the English one)."""
        return mask_name(self.name or self.english_name)

    @property
    def gender_name(self) -> str:
        """男 / 女 / 未知 / 未说明."""
        return GENDERS.get(self.gender, "未知")

    @property
    def nation_name(self) -> str:
        """民族 name for resident cards ('' when absent)."""
        return NATIONS.get(self.nation, "")

    def is_expired(self, today: date) -> bool:
        """True after the last valid day (长期 never expires)."""
        if self.permanent:
            return False
        return self.valid_to is None or today > self.valid_to

    def age(self, today: date) -> int | None:
        """Completed years on ``today``."""
        born = self.birth_date
        if born is None:
            return None
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def number_problem(self, today: date | None = None) -> str | None:
        """Why the card's number is invalid ('check_digit', 'birth_date', …), None when valid."""
        if self.card_type == CardType.FOREIGNER_2017:
            return None if re.fullmatch(r"[A-Z]{3}\d{12}", self.id_number) else "format"
        if self.card_type == CardType.UNKNOWN:
            return "unsupported"
        problem = number_problem(self.id_number, today)
        if problem is None and self.birth_date is not None and self.id_number[6:14] != f"{self.birth_date:%Y%m%d}":
            return "birth_date"
        if problem is None and self.card_type == CardType.PERMIT_HMT and self.id_number[:2] not in ("81", "82", "83"):
            return "format"
        return problem

    def photo_image(self, decoder: PhotoDecoder | None = None) -> bytes | None:
        """The decoded photo through ``decoder`` (default: none)."""
        return (decoder or NoPhotoDecoder()).decode(self.photo) if self.photo else None


def _date(text: str, what: str) -> date | None:
    if not text:
        return None
    parsed = parse_yyyymmdd(text)
    if parsed is None:
        raise CardDataError(f"{what} is not a date")
    return parsed


def parse_text(block: bytes, photo: bytes = b"", fingerprint: bytes = b"") -> IdCard:
    """Parse the 256-byte text block; unknown card types give an UNKNOWN card, never a misparse."""
    if len(block) != TEXT_LEN:
        raise CardDataError(f"text block has {len(block)} bytes, expected {TEXT_LEN}")
    try:
        code = type_code(block)
        card_type = TYPE_CODES.get(code, CardType.UNKNOWN)
        if card_type == CardType.UNKNOWN:
            return IdCard(CardType.UNKNOWN, "", "", photo=photo, fingerprint=fingerprint)
        layout = LAYOUTS[CODE_OF_TYPE[card_type]]
        values = {name: read_field(block, f) for name, f in layout.items() if name != "type"}
    except UnicodeDecodeError as exc:
        raise CardDataError("text block is not UCS-2") from exc
    valid_to_text = values["valid_to"]
    permanent = valid_to_text.startswith(PERMANENT)
    return IdCard(
        card_type=card_type,
        id_number=values["number"].upper(),
        name=values.get("name", ""),
        gender=values.get("gender", "0") or "0",
        birth_date=_date(values.get("birth", ""), "birth date"),
        valid_from=_date(values["valid_from"], "valid-from date"),
        valid_to=None if permanent else _date(valid_to_text, "valid-to date"),
        permanent=permanent,
        nation=values.get("nation", "") if card_type == CardType.RESIDENT else "",
        address=values.get("address", ""),
        authority=values.get("authority", ""),
        english_name=(values.get("english_name", "") + values.get("english_name_more", "")).strip(),
        nationality=values.get("nationality", ""),
        pass_number=values.get("pass_number", ""),
        issue_count=values.get("issue_count", ""),
        photo=photo,
        fingerprint=fingerprint,
    )


def _length(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "big")


def parse_read_reply(response: Response, with_fingerprint: bool = False) -> IdCard:
    """Parse the data of a 30 01 (or 30 10) reply: lengths, text, photo, fingerprint."""
    data = response.data
    head = 6 if with_fingerprint else 4
    if len(data) < head:
        raise CardDataError(f"read reply too short: {len(data)} bytes")
    text_len, photo_len = _length(data, 0), _length(data, 2)
    finger_len = _length(data, 4) if with_fingerprint else 0
    if text_len != TEXT_LEN or photo_len not in (0, PHOTO_LEN):
        raise CardDataError(f"unexpected lengths text={text_len} photo={photo_len}")
    if len(data) != head + text_len + photo_len + finger_len:
        expected = head + text_len + photo_len + finger_len
        raise CardDataError(f"read reply has {len(data)} data bytes, its lengths say {expected}")
    text = data[head : head + text_len]
    photo = data[head + text_len : head + text_len + photo_len]
    finger = data[head + text_len + photo_len :]
    return parse_text(text, photo, finger)


__all__ = [
    "GENDERS",
    "NATIONS",
    "CardType",
    "Field",
    "IdCard",
    "NoPhotoDecoder",
    "PhotoDecoder",
    "check_digit",
    "is_valid_number",
    "mask_name",
    "mask_number",
    "parse_read_reply",
    "parse_text",
]
