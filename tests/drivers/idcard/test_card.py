"""ID-card text block, card types, GB 11643 check digits, masking and the sample cards."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from drivers.idcard.card import (
    GENDERS,
    NATIONS,
    CardType,
    IdCard,
    check_digit,
    is_valid_number,
    mask_name,
    mask_number,
    parse_read_reply,
    parse_text,
)
from drivers.idcard.codec import CardDataError, SamStatus, build_response, parse_response
from drivers.idcard.samples import SAMPLES, card_from_dict
from drivers.idcard.simulator import encode_read_data, encode_text

TODAY = date(2026, 11, 27)


def ucs2(text: str, chars: int) -> bytes:
    return text.ljust(chars).encode("utf-16-le")


def test_check_digits_of_the_protocol_page() -> None:
    assert check_digit("11010519491231002") == "X"
    assert check_digit("44052418800101001") == "4"
    assert is_valid_number("11010519491231002X")
    assert is_valid_number("440524188001010014")


@pytest.mark.parametrize(
    "number",
    ["110105194912310021", "11010519491231002", "1101051949123100XX", "110105194913310028", "110105186901010016"],
)
def test_invalid_numbers(number: str) -> None:
    assert not is_valid_number(number)


def test_future_birth_date_is_invalid_on_a_given_day() -> None:
    number = "110105" + "20300101" + "001"
    number += check_digit(number)
    assert is_valid_number(number)
    assert not is_valid_number(number, today=TODAY)


def test_masks() -> None:
    assert mask_number("11010519491231002X") == "110105********002X"
    assert mask_name("张三明") == "张*明"
    assert mask_name("张明") == "张*"
    assert mask_name("阿依古丽") == "阿**丽"
    assert mask_name("SMITH JOHN") == "S**** J***"
    assert "19491231" not in mask_number("11010519491231002X")


def test_tables() -> None:
    assert GENDERS["1"] == "男" and GENDERS["2"] == "女" and GENDERS["9"] == "未说明"
    assert len(NATIONS) == 58
    assert NATIONS["01"] == "汉" and NATIONS["56"] == "基诺" and NATIONS["98"] == "外国血统中国籍人士"


def test_resident_block_at_the_offsets_of_the_protocol_page() -> None:
    block = (
        ucs2("张三明", 15) + ucs2("1", 1) + ucs2("01", 2) + ucs2("19491231", 8) + ucs2("北京市东城区某街1号", 35)
        + ucs2("11010519491231002X", 18) + ucs2("北京市公安局东城分局", 15) + ucs2("20100101", 8)
        + ucs2("长期", 8) + ucs2("", 18)
    )
    assert len(block) == 256
    card = parse_text(block)
    assert card.card_type is CardType.RESIDENT
    assert (card.name, card.id_number) == ("张三明", "11010519491231002X")
    assert (card.gender_name, card.nation_name) == ("男", "汉")
    assert card.birth_date == date(1949, 12, 31)
    assert card.permanent and not card.is_expired(TODAY)
    assert card.age(TODAY) == 76
    assert card.address == "北京市东城区某街1号"
    assert card.number_problem(TODAY) is None


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_text_block_round_trip_of_every_sample(key: str) -> None:
    card = SAMPLES[key]
    parsed = parse_text(encode_text(card), card.photo)
    assert parsed == card
    assert parsed.photo == card.photo


@pytest.mark.parametrize(
    ("key", "kind", "code"),
    [("permit_j", CardType.PERMIT_HMT, "J"), ("foreigner_i", CardType.FOREIGNER_2017, "I"),
     ("foreigner_y", CardType.FOREIGNER_2023, "Y")],
)
def test_card_types_are_recognised_not_misparsed(key: str, kind: CardType, code: str) -> None:
    block = encode_text(SAMPLES[key])
    assert block[248:250] == code.encode("utf-16-le")
    card = parse_text(block)
    assert card.card_type is kind
    assert card.id_number == SAMPLES[key].id_number
    assert card.name == SAMPLES[key].name
    assert card.valid_to == SAMPLES[key].valid_to and card.birth_date == SAMPLES[key].birth_date
    assert card.nation == ""  # a permit or foreigner card has no 民族 even where a resident card has it


def test_permit_fields_after_offset_220() -> None:
    block = encode_text(SAMPLES["permit_j"])
    assert block[220:238].decode("utf-16-le") == "H12345678"
    assert block[238:242].decode("utf-16-le") == "01"
    card = parse_text(block)
    assert card.id_number[:2] == "81" and card.number_problem(TODAY) is None


def test_foreigner_names() -> None:
    y = parse_text(encode_text(SAMPLES["foreigner_y"]))
    assert (y.english_name, y.nationality, y.masked_name) == ("SMITH JOHN", "USA", "史*斯")
    i = parse_text(encode_text(SAMPLES["foreigner_i"]))
    assert (i.english_name, i.nationality, i.number_problem(TODAY)) == ("MUELLER ANNA", "DEU", None)
    assert i.masked_id == "DEU118*****0120"


def test_unknown_type_is_never_a_resident_card() -> None:
    block = bytearray(encode_text(SAMPLES["young"]))
    block[248:250] = "Q".encode("utf-16-le")
    card = parse_text(bytes(block))
    assert card.card_type is CardType.UNKNOWN
    assert card.id_number == "" and card.number_problem() == "unsupported"


def test_samples_are_valid_and_cover_the_cases() -> None:
    for key, card in SAMPLES.items():
        problem = card.number_problem(TODAY)
        assert (problem == "check_digit") if key == "bad_check" else problem is None, key
    assert SAMPLES["young"].age(TODAY) == 25
    assert SAMPLES["elderly"].age(TODAY) == 80
    assert SAMPLES["expired"].is_expired(TODAY)
    assert not SAMPLES["young"].is_expired(TODAY)


def test_repr_never_shows_the_number_or_name() -> None:
    card = SAMPLES["elderly"]
    text = repr(card) + str(card) + f"{card}"
    assert card.id_number not in text and card.name not in text
    assert card.masked_id in text


def test_read_reply_and_fingerprint_variant() -> None:
    card = replace(SAMPLES["young"], fingerprint=bytes(range(256)) * 2)
    plain = parse_response(build_response(SamStatus.OK, encode_read_data(card)))
    assert len(build_response(SamStatus.OK, encode_read_data(card))) == 1295
    parsed = parse_read_reply(plain)
    assert parsed.photo == card.photo and parsed.fingerprint == b""
    finger = parse_response(build_response(SamStatus.OK, encode_read_data(card, fingerprint=True)))
    assert finger.data[4:6] == (512).to_bytes(2, "big")  # frame offset 14: fingerprint length
    parsed = parse_read_reply(finger, with_fingerprint=True)
    assert parsed.fingerprint == card.fingerprint and parsed.id_number == card.id_number
    assert parsed.photo == card.photo  # untouched, text at 16 and photo at 272 in the frame


def test_bad_read_replies_raise_codec_errors() -> None:
    with pytest.raises(CardDataError):
        parse_read_reply(parse_response(build_response(SamStatus.OK, b"\x01\x00\x04\x00" + bytes(10))))
    block = bytearray(encode_text(SAMPLES["young"]))
    block[188:204] = ucs2("20219999", 8)
    with pytest.raises(CardDataError):
        parse_text(bytes(block))


def test_photo_decoder_hook() -> None:
    card = SAMPLES["young"]
    assert card.photo_image() is None

    class Fake:
        def decode(self, wlt: bytes) -> bytes | None:
            return b"BMP" + wlt[:2]

    assert card.photo_image(Fake()) == b"BMP" + card.photo[:2]


def test_custom_card_from_fields() -> None:
    card = card_from_dict({"sample": "young", "name": "赵六", "id_number": "11010519491231002X", "valid_to": None})
    assert card.birth_date == date(1949, 12, 31) and card.permanent
    j = card_from_dict({"sample": "young", "card_type": "J"})
    assert isinstance(j, IdCard) and j.card_type is CardType.PERMIT_HMT
    with pytest.raises(ValueError):
        card_from_dict({"photo": "x"})
