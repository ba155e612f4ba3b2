"""What a device host sends when a card is laid on a kiosk's reader: ``CardReading``.

The reading carries the card's number and name from the reader to the server for the
moment it takes to validate, hash and mask them (server/kiosk/sessions.py); it is never
stored, logged or published, and its repr shows only masked forms. The photo never
leaves the driver.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from drivers.idcard.card import CardType, IdCard, mask_name, mask_number


class CardReading(BaseModel):
    """The text of an ID card the server needs (no photo, no address); body of ``PUT /api/kiosks/{id}/card``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    card_type: CardType
    id_number: str = Field(min_length=1, max_length=32)
    name: str = Field(default="", max_length=64)
    english_name: str = Field(default="", max_length=128)
    birth_date: dt.date | None = None
    valid_to: dt.date | None = None
    permanent: bool = False

    def __repr__(self) -> str:
        return f"CardReading({self.card_type.value}, {mask_number(self.id_number)}, " \
               f"{mask_name(self.name or self.english_name)})"

    __str__ = __repr__

    @classmethod
    def from_card(cls, card: IdCard) -> CardReading:
        """The reading of a card the driver parsed."""
        return cls(card_type=card.card_type, id_number=card.id_number, name=card.name,
                   english_name=card.english_name, birth_date=card.birth_date, valid_to=card.valid_to,
                   permanent=card.permanent)

    def card(self) -> IdCard:
        """The driver's card type, for its validation, age and masking rules."""
        return IdCard(card_type=self.card_type, id_number=self.id_number, name=self.name,
                      english_name=self.english_name, birth_date=self.birth_date, valid_to=self.valid_to,
                      permanent=self.permanent)
