"""Who books: GB 11643 ID numbers and mainland mobile numbers, checked, hashed and masked.

The full numbers never leave this module except through the keyed hasher (the installation's
identity key, server/installation.py ``identity_hasher``); rows keep the hash and the mask.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from drivers.idcard.card import mask_name, mask_number, number_problem

Hasher = Callable[[str], str]
MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True, slots=True)
class Person:
    """A citizen as stored: keyed hashes and masked forms only."""

    key_hash: str
    masked_id: str
    masked_name: str
    phone_hash: str | None = None
    masked_phone: str | None = None


def id_problem(id_number: str) -> str | None:
    """Why an ID number is not a valid GB 11643 number (format, check_digit, birth_date), or None."""
    return number_problem(id_number.strip().upper())


def normal_id(id_number: str) -> str:
    """The canonical form hashed: stripped, upper-case X."""
    return id_number.strip().upper()


def normal_phone(phone: str) -> str:
    """Digits only, a leading +86/86 dropped."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def phone_ok(phone: str) -> bool:
    """A mainland mobile number (11 digits, 13x–19x)."""
    return bool(MOBILE.match(normal_phone(phone)))


def mask_phone(phone: str) -> str:
    """``138****5678``."""
    p = normal_phone(phone)
    return p[:3] + "****" + p[-4:] if len(p) >= 8 else "*" * len(p)


def hash_phone(hasher: Hasher, phone: str) -> str:
    """The keyed hash of a mobile number (a prefix keeps it apart from ID-number hashes)."""
    return hasher("tel:" + normal_phone(phone))


def person(hasher: Hasher, id_number: str, name: str, phone: str | None) -> Person:
    """Hash and mask one citizen's details (numbers must already be valid)."""
    number = normal_id(id_number)
    return Person(hasher(number), mask_number(number), mask_name(name),
                  hash_phone(hasher, phone) if phone else None, mask_phone(phone) if phone else None)
