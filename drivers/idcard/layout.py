"""Field layouts of the 256-byte text block (UCS-2 little-endian, padded with spaces).

One table per card type, shared by the parser (``card.py``) and the simulator's
encoder, so the offsets live in one place. Resident cards follow GA/T 490; the
``J``/``I``/``Y`` layouts follow the readers' published SDK descriptions (the type
byte is at offset 248 in all of them).
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT_LEN = 256
PHOTO_LEN = 1024
TYPE_OFFSET = 248
PAD = " "
PERMANENT = "长期"  # valid-to text of cards without an end date


@dataclass(frozen=True)
class Field:
    """One text field: byte offset and byte length (two bytes per character)."""

    name: str
    offset: int
    length: int

    @property
    def chars(self) -> int:
        """Capacity in UCS-2 characters."""
        return self.length // 2


def _table(*fields: tuple[str, int, int]) -> dict[str, Field]:
    table = {name: Field(name, offset, length) for name, offset, length in fields}
    end = 0
    for f in sorted(table.values(), key=lambda f: f.offset):
        if f.offset < end:  # a typo in a table must not silently overlap fields
            raise ValueError(f"field {f.name} overlaps the previous one")
        end = f.offset + f.length
    return table


RESIDENT = _table(
    ("name", 0, 30),
    ("gender", 30, 2),
    ("nation", 32, 4),
    ("birth", 36, 16),
    ("address", 52, 70),
    ("number", 122, 36),
    ("authority", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("reserved", 220, 28),
    ("type", 248, 2),
)

# Residence permit for Hong Kong, Macau and Taiwan residents (港澳台居民居住证).
PERMIT_J = _table(
    ("name", 0, 30),
    ("gender", 30, 2),
    ("nation", 32, 4),  # unused on permits
    ("birth", 36, 16),
    ("address", 52, 70),
    ("number", 122, 36),
    ("authority", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("pass_number", 220, 18),
    ("issue_count", 238, 4),
    ("type", 248, 2),
)

# Foreigner permanent residence card, 2017 edition (外国人永久居留身份证).
FOREIGNER_I = _table(
    ("english_name", 0, 120),
    ("gender", 120, 2),
    ("number", 122, 30),
    ("nationality", 152, 6),
    ("name", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("birth", 220, 16),
    ("version", 236, 4),
    ("authority", 240, 8),
    ("type", 248, 2),
)

# Foreigner permanent residence card, 2023 edition (18-character number).
FOREIGNER_Y = _table(
    ("english_name", 0, 70),
    ("gender", 70, 2),
    ("number", 72, 36),
    ("nationality", 108, 6),
    ("name", 114, 30),
    ("valid_from", 144, 16),
    ("valid_to", 160, 16),
    ("birth", 176, 16),
    ("english_name_more", 192, 36),
    ("authority", 228, 8),
    ("version", 236, 4),
    ("type", 248, 2),
)

LAYOUTS: dict[str, dict[str, Field]] = {"": RESIDENT, "J": PERMIT_J, "I": FOREIGNER_I, "Y": FOREIGNER_Y}


def read_field(block: bytes, field: Field) -> str:
    """Decode one field and strip the padding (spaces and NULs)."""
    raw = block[field.offset : field.offset + field.length]
    return raw.decode("utf-16-le", errors="strict").rstrip(" \x00")


def write_field(block: bytearray, field: Field, value: str) -> None:
    """Encode ``value`` into ``field``, padded with spaces; too long is an error."""
    if len(value) > field.chars:
        raise ValueError(f"{field.name}: {len(value)} characters, room for {field.chars}")
    encoded = value.ljust(field.chars, PAD).encode("utf-16-le")
    if len(encoded) != field.length:  # characters outside the BMP take 4 bytes
        raise ValueError(f"{field.name}: not representable in UCS-2")
    block[field.offset : field.offset + field.length] = encoded


def type_code(block: bytes) -> str:
    """The card-type character at byte 248 ('' for resident cards)."""
    code = block[TYPE_OFFSET : TYPE_OFFSET + 2].decode("utf-16-le", errors="replace")
    return code.strip(" \x00")
