"""The engine's citizen-first rules through the real store (SQLite): priority across 主办/兼办, honest
availability in the snapshot, cut-offs, lunch modes, the call-back clock in opening time, English names."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.config import HallConfig, parse_config
from server.errors import HallqError
from server.queue.entities import IdentityRef
from server.store import QueueStore

TZ = ZoneInfo("Asia/Shanghai")
HALL = """\
hall:
  name: 测试中心
  opening_hours: [{days: [1, 2, 3, 4, 5], open: "09:00", close: "17:00"}]
  lunch_break: {start: "12:00", end: "13:30"}
  lunch_issuing: LUNCH
services:
  - {code: general, name: 综合受理, name_en: General affairs, category: 综合窗口, category_en: General, prefix: A}
  - {code: social, name: 社会保障, name_en: Social security, prefix: B, expected_minutes: 10}
  - {code: estate, name: 不动产登记, prefix: C, cutoff_minutes: 30}
windows:
  - {number: 1, name: 1号综合窗口, name_en: "Window 1 (general)", services: [general, {code: social, role: secondary}]}
  - {number: 2, services: [estate]}
policy: {callback_minutes: 30, priority_interleave: 0, sla_promotion: false, unserved_issue: UNSERVED, CALL_ORDER}
"""


def config(lunch: str = "stop", unserved: str = "confirm", call_order: str = "") -> HallConfig:
    text = HALL.replace("LUNCH", lunch).replace("UNSERVED", unserved)
    return parse_config(text.replace(", CALL_ORDER", f", call_order: {call_order}" if call_order else ""))


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 27, 10, 0, tzinfo=TZ)  # a Friday

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, h: int, mi: int = 0, day: int = 27) -> None:
        self.now = dt.datetime(2026, 11, day, h, mi, tzinfo=TZ)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(tmp_path: Path, clock: Clock) -> Iterator[Any]:
    stores: list[QueueStore] = []

    def build(cfg: HallConfig | None = None) -> QueueStore:
        store = QueueStore(f"sqlite:///{tmp_path}/q{len(stores)}.db", cfg or config(), clock=clock)
        store.migrate()
        stores.append(store)
        return store

    yield build
    for s in stores:
        s.close()


def elderly(age: int = 80) -> IdentityRef:
    return IdentityRef(f"hash-{age}", "440524********0010", "张*明", dt.date(2026 - age, 3, 1))


def code_of(fn: Any, *args: Any, **kwargs: Any) -> str | None:
    try:
        fn(*args, **kwargs)
    except HallqError as exc:
        return exc.code
    return None


def test_an_elderly_ticket_of_a_secondary_service_is_called_first_at_the_general_window(make: Any) -> None:
    store = make()
    store.open_window(1)
    store.issue("general")  # A001, normal 主办
    old = store.issue("social", identity=elderly(80)).value.ticket  # B001, the 80-year-old, 兼办 here
    store.issue("general")  # A002
    assert old.priority == "priority"
    assert store.call_next(1).value.number == "B001"


def test_role_first_keeps_the_old_order(make: Any) -> None:
    store = make(config(call_order="role_first"))
    store.open_window(1)
    store.issue("general")
    store.issue("social", identity=elderly(80))
    assert store.call_next(1).value.number == "A001"


def test_the_elderly_threshold_is_sixty_by_default(make: Any) -> None:
    store = make()
    assert store.config.policy.elderly_age == 60
    assert store.issue("general", identity=elderly(60)).value.ticket.priority == "priority"
    assert store.issue("social", identity=elderly(59)).value.ticket.priority == "normal"


def test_the_snapshot_says_no_window_then_available_with_a_range_for_a_secondary_service(make: Any) -> None:
    store = make()
    store.issue("general")
    store.issue("social")
    store.issue("social")
    social = {s.code: s for s in store.snapshot().services}["social"]
    assert (social.availability, social.available, social.confirm) == ("no_window", True, True)
    assert social.availability_zh == "暂无窗口办理" and social.eta_minutes is None
    store.open_window(1)
    s = {s.code: s for s in store.snapshot().services}
    assert s["social"].availability == "available" and s["social"].windows_secondary == 1
    # one 兼办 window whose 主办 queue has a ticket: not full capacity, and a range
    assert s["social"].eta_range == [20, 80] and s["social"].eta_minutes == 80
    assert s["general"].windows_primary == 1 and s["general"].eta_range is None
    # the same estimate on the ticket itself
    b2 = store.get_ticket(3)
    assert b2.ahead == 1 and b2.eta_range is not None


def test_refuse_mode_refuses_kiosk_tickets_nobody_serves_but_not_staff_ones(make: Any) -> None:
    store = make(config(unserved="refuse"))
    social = {s.code: s for s in store.snapshot().services}["social"]
    assert (social.available, social.reason) == (False, "no_window_serving")
    assert code_of(store.issue, "social", channel="kiosk") == "no_window_serving"
    assert code_of(store.issue, "social", channel="staff") is None
    store.open_window(1)
    assert code_of(store.issue, "social", channel="kiosk") is None


def test_cut_off_before_closing(make: Any, clock: Clock) -> None:
    store = make()
    store.open_window(2)
    clock.set(16, 29)
    assert code_of(store.issue, "estate") is None
    clock.set(16, 31)
    assert code_of(store.issue, "estate") == "service_cut_off"
    assert code_of(store.issue, "estate", channel="staff") is None  # 代取号 still possible
    assert code_of(store.issue, "general") is None  # other services have no cut-off
    estate = {s.code: s for s in store.snapshot().services}["estate"]
    assert (estate.availability, estate.available) == ("cut_off", False)
    assert estate.next_open == "2026-11-30T09:00:00+08:00"


@pytest.mark.parametrize("mode", ["stop", "keep"])
def test_lunch_issuing_modes(make: Any, clock: Clock, mode: str) -> None:
    store = make(config(lunch=mode))
    clock.set(12, 30)
    got = code_of(store.issue, "general")
    general = {s.code: s for s in store.snapshot().services}["general"]
    if mode == "stop":
        assert got == "outside_opening_hours" and general.availability == "closed"
    else:
        assert got is None and general.availability == "lunch" and general.available
        assert general.next_open == "2026-11-27T13:30:00+08:00"


def test_a_ticket_missed_before_lunch_can_be_called_back_after_it(make: Any, clock: Clock) -> None:
    store = make()
    store.open_window(1)
    store.issue("general")
    clock.set(11, 50)
    store.call_next(1)
    clock.set(11, 55)
    missed = store.no_show(1).value
    clock.set(13, 40)  # 105 wall minutes, 15 opening minutes
    assert [t.id for t in store.call_backs(1)] == [missed.id]
    assert store.call(1, missed.id).value.state == "called"
    store.no_show(1)  # set aside again at 13:40
    clock.set(14, 11)  # 31 opening minutes later: too late
    assert store.call_backs(1) == []
    assert code_of(store.call, 1, missed.id) == "callback_expired"


def test_english_names_are_in_the_views(make: Any) -> None:
    store = make()
    store.open_window(1)
    ticket = store.issue("social").value.ticket
    assert ticket.service_name_en == "Social security"
    snap = store.snapshot()
    general = {s.code: s for s in snap.services}["general"]
    assert (general.name_en, general.category_en) == ("General affairs", "General")
    assert {w.number: w.name_en for w in snap.windows}[1] == "Window 1 (general)"
    assert snap.to_dict()["windows"][0]["name_en"] == "Window 1 (general)"


def test_expired_cards_are_accepted_with_a_warning_by_default_and_refused_per_service(make: Any) -> None:
    from server.queue.adapt import expired_card_refused_everywhere, expired_card_rule

    cfg = config()
    assert cfg.identity.expired_card == "warn"
    text = HALL.replace("LUNCH", "stop").replace("UNSERVED", "confirm").replace(", CALL_ORDER", "")
    strict = parse_config(text.replace("cutoff_minutes: 30}", "cutoff_minutes: 30, expired_card: refuse}"))
    assert [expired_card_rule(strict, s) for s in ("general", "estate")] == ["warn", "refuse"]
    assert not expired_card_refused_everywhere(strict)
    # refuse everywhere except 户籍-like services: the reader must still open the session
    hukou_only = parse_config(text.replace("cutoff_minutes: 30}", "cutoff_minutes: 30, expired_card: warn}")
                              + "identity: {expired_card: refuse}\n")
    assert [expired_card_rule(hukou_only, s) for s in ("general", "estate")] == ["refuse", "warn"]
    assert not expired_card_refused_everywhere(hukou_only)
    everywhere = parse_config(text + "identity: {expired_card: refuse}\n")
    assert expired_card_refused_everywhere(everywhere)
    store = make(strict)
    card = dataclasses.replace(elderly(70), expired=True)
    ticket = store.issue("general", identity=card).value.ticket
    assert ticket.priority == "priority"  # the elderly priority is kept with an expired card
    assert code_of(store.issue, "estate", identity=card) == "card_expired"
