"""Second-generation ID-card readers (SAM protocol): codec, card data, driver, simulator."""

from drivers.idcard.card import CardType, IdCard, PhotoDecoder

__all__ = ["CardType", "IdCard", "PhotoDecoder"]
