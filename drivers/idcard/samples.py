"""Sample cards for the simulator, the demo and tests (fictitious people, valid check digits)."""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from datetime import date
from typing import Any

from drivers.idcard.card import CardType, IdCard, check_digit, parse_yyyymmdd
from drivers.idcard.layout import PHOTO_LEN


def with_check(first17: str) -> str:
    """Append the GB 11643 check character to 17 digits."""
    return first17 + check_digit(first17)


def sample_photo(seed: str) -> bytes:
    """1024 deterministic stand-in WLT bytes (no 0xAA byte, so never a frame preamble)."""
    out = bytearray()
    block = seed.encode()
    while len(out) < PHOTO_LEN:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:PHOTO_LEN]).replace(b"\xaa", b"\xab")


def _resident(key: str, name: str, first17: str, gender: str, nation: str, address: str, authority: str,
              valid_from: date, valid_to: date | None) -> IdCard:
    number = with_check(first17)
    return IdCard(
        card_type=CardType.RESIDENT,
        id_number=number,
        name=name,
        gender=gender,
        nation=nation,
        birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        address=address,
        authority=authority,
        valid_from=valid_from,
        valid_to=valid_to,
        permanent=valid_to is None,
        photo=sample_photo(key),
    )


SAMPLES: dict[str, IdCard] = {
    # 25 years old in 2026
    "young": _resident("young", "李明", "11010520010615001", "1", "01", "北京市朝阳区建国路88号",
                       "北京市公安局朝阳分局", date(2021, 7, 1), date(2031, 7, 1)),
    # 80 years old in 2026: elderly priority
    "elderly": _resident("elderly", "张卫明", "44052419460308001", "1", "01", "广东省揭阳市揭西县河婆街道新风路12号",
                         "揭西县公安局", date(2016, 5, 1), None),
    # valid until 2025-01-10
    "expired": _resident("expired", "陈静", "32010219850920002", "2", "01", "江苏省南京市玄武区中山路18号",
                         "南京市公安局玄武分局", date(2005, 1, 10), date(2025, 1, 10)),
    # a minority citizen with a 4-character name
    "minority": _resident("minority", "阿依古丽", "65010219920101004", "2", "05",
                          "新疆乌鲁木齐市天山区解放南路7号", "乌鲁木齐市公安局天山区分局",
                          date(2020, 3, 1), date(2040, 3, 1)),
    "permit_j": IdCard(
        card_type=CardType.PERMIT_HMT,
        id_number=with_check("81000019920315003"),
        name="陈志豪",
        gender="1",
        birth_date=date(1992, 3, 15),
        address="广东省深圳市福田区福华路1号",
        authority="深圳市公安局",
        valid_from=date(2023, 6, 1),
        valid_to=date(2028, 6, 1),
        pass_number="H12345678",
        issue_count="01",
        photo=sample_photo("permit_j"),
    ),
    "foreigner_y": IdCard(
        card_type=CardType.FOREIGNER_2023,
        id_number=with_check("91184019850704001"),
        name="史密斯",
        english_name="SMITH JOHN",
        gender="1",
        nationality="USA",
        birth_date=date(1985, 7, 4),
        authority="1500",
        valid_from=date(2024, 1, 10),
        valid_to=date(2034, 1, 10),
        photo=sample_photo("foreigner_y"),
    ),
    "foreigner_i": IdCard(
        card_type=CardType.FOREIGNER_2017,
        id_number="DEU118805010120",
        name="安娜",
        english_name="MUELLER ANNA",
        gender="2",
        nationality="DEU",
        birth_date=date(1988, 5, 1),
        authority="1500",
        valid_from=date(2018, 9, 1),
        valid_to=date(2028, 9, 1),
        photo=sample_photo("foreigner_i"),
    ),
}

# A resident card whose last digit is wrong (refused at the kiosk).
_young = SAMPLES["young"]
SAMPLES["bad_check"] = replace(
    _young, id_number=_young.id_number[:17] + ("0" if _young.id_number[17] != "0" else "1"), name="王五"
)

_DATE_FIELDS = {"birth_date", "valid_from", "valid_to"}
_FIELD_NAMES = {f.name for f in fields(IdCard)}


def card_from_dict(data: dict[str, Any]) -> IdCard:
    """A card from a sample name (``{"sample": "elderly"}``) and/or custom fields.

    Custom fields override the sample (default ``young``); dates are ISO strings,
    ``card_type`` a CardType value or J/I/Y.
    """
    base = SAMPLES[str(data.get("sample", "young"))]
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "sample":
            continue
        if key not in _FIELD_NAMES or key in ("photo", "fingerprint"):
            raise ValueError(f"unknown card field {key!r}")
        if key in _DATE_FIELDS and isinstance(value, str):
            value = date.fromisoformat(value)
        elif key == "card_type":
            value = {"J": CardType.PERMIT_HMT, "I": CardType.FOREIGNER_2017, "Y": CardType.FOREIGNER_2023}.get(
                value, value
            )
            value = CardType(value)
        changes[key] = value
    if "valid_to" in changes:
        changes.setdefault("permanent", changes["valid_to"] is None)
    if "id_number" in changes and "birth_date" not in changes:
        changes["birth_date"] = parse_yyyymmdd(str(changes["id_number"])[6:14])
    return replace(base, **changes)
