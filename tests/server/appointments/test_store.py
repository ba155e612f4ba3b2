"""Bookings in the store on PostgreSQL (the migration, the advisory lock under a race) and the small parsers."""

from __future__ import annotations

import threading
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from drivers.idcard.card import check_digit
from server.appointments.book import AppointmentBook
from server.appointments.checkin import parse_code
from server.appointments.people import mask_phone, normal_phone, person, phone_ok
from server.config import HallConfig
from server.errors import HallqError
from server.store import QueueStore
from tests.server.appointments.conftest import WEDNESDAY, Clock, booking_config


def _ids(n: int) -> list[str]:
    """``n`` valid GB 11643 numbers (born 1990-01-01 … 1990-01-n)."""
    firsts = [f"11010519900{1 + i // 28:01d}{1 + i % 28:02d}{i:03d}" for i in range(n)]
    return [f + check_digit(f) for f in firsts]


def test_last_place_of_a_slot_goes_to_one_of_many_on_postgres(demo_config: HallConfig, tmp_path: Path,
                                                             postgres_db_url: str) -> None:
    config = booking_config(demo_config, tmp_path)
    store = QueueStore(postgres_db_url, config)
    store.migrate()
    store.clock = Clock()
    try:
        book = AppointmentBook(lambda: config, store)
        people = [person(lambda s: "h:" + s, n, "王五", None) for n in _ids(8)]
        results: list[str] = []
        gate = threading.Barrier(len(people))

        def attempt(i: int) -> None:
            gate.wait()
            try:
                book.book("estate", WEDNESDAY, "10:00", people[i], channel="web", actor="citizen")
                results.append("ok")
            except HallqError as exc:
                results.append(exc.code)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(people))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == ["ok"] + ["slot_full"] * 7  # estate: capacity 1 per slot
        assert book.slots("estate", WEDNESDAY)["slots"][1]["booked"] == 1
    finally:
        store.close()


@given(st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789abcdefghjk", min_size=4, max_size=16))
def test_parse_code_reads_bare_codes_and_links(code: str) -> None:
    assert parse_code(code) == code.upper()
    assert parse_code(f"https://zwfw.example.gov.cn/book#code={code}\r\n") == code.upper()
    assert parse_code(f"code={code}&lang=zh") == code.upper()


@given(st.text(max_size=30))
def test_parse_code_never_fails_and_is_short(text: str) -> None:
    assert len(parse_code(text)) <= 16


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "86", "+86 "]))
def test_mobile_numbers_normalise_and_mask(number: str, prefix: str) -> None:
    spaced = f"{prefix}{number[:3]} {number[3:7]}-{number[7:]}"
    assert normal_phone(spaced) == number and phone_ok(spaced)
    assert mask_phone(spaced) == number[:3] + "****" + number[-4:]


@given(st.text(max_size=20))
def test_phone_ok_only_for_mainland_mobiles(text: str) -> None:
    if phone_ok(text):
        digits = normal_phone(text)
        assert len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def test_ids_helper_makes_valid_numbers() -> None:
    from server.appointments.people import id_problem

    assert all(id_problem(n) is None for n in _ids(8)) and len(set(_ids(8))) == 8
