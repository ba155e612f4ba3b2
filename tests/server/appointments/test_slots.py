"""Slot capacity from the configuration: hours, lunch break, a holiday, a 调休 Saturday, windows, walk-in share."""

from __future__ import annotations

import datetime as dt

from server.appointments import slots as S
from server.config import HallConfig
from tests.server.appointments.conftest import HOLIDAY, MAKEUP, NOW, SUNDAY, WEDNESDAY


def test_weekday_slots_skip_the_lunch_break(config: HallConfig) -> None:
    found = S.day_slots(config, "general", WEDNESDAY)
    keys = [s.key for s in found]
    # 09:00–12:00 and 13:30–17:00 in 30-minute slots: 6 + 7, nothing between 12:00 and 13:30
    assert keys[:6] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert keys[6:] == ["13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
    # general: windows 1–4 主办 (4) + 11, 12 兼办 (½ each) = 5 windows × 30 min ÷ 8 min = 18.75, half for walk-ins
    assert S.serving_windows(config, "general") == 5.0
    assert {s.capacity for s in found} == {9}
    assert all(s.start.tzinfo is not None and s.start.date() == WEDNESDAY for s in found)


def test_holiday_and_sunday_have_no_slots_but_the_makeup_saturday_has(config: HallConfig) -> None:
    assert S.day_slots(config, "general", HOLIDAY) == []
    assert S.day_slots(config, "general", SUNDAY) == []
    assert len(S.day_slots(config, "general", MAKEUP)) == 13  # Monday's hours on the 调休 Saturday
    assert S.day_refusal(config, "general", HOLIDAY, NOW) == "booking_closed_day"
    assert S.day_refusal(config, "general", MAKEUP, NOW) is None


def test_capacity_by_hand_and_slot_length_per_service(config: HallConfig) -> None:
    found = S.day_slots(config, "estate", WEDNESDAY)
    assert [s.key for s in found] == ["09:00", "10:00", "11:00", "13:30", "14:30", "15:30"]  # 16:30+60 > 17:00
    assert {s.capacity for s in found} == {1}


def test_walk_in_share_and_windows_change_capacity(config: HallConfig) -> None:
    raw = config.model_dump()
    raw["appointments"]["walk_in_share"] = 0.8
    fewer = HallConfig.model_validate(raw)
    assert S.capacity(fewer, "general", 30) == 3  # 18.75 × 0.2
    raw["windows"] = [w for w in raw["windows"] if w["number"] not in (1, 2, 3, 4)]
    only_secondary = HallConfig.model_validate(raw)
    assert S.capacity(only_secondary, "general", 30) == 0  # 2 × ½ × 30 ÷ 8 = 3.75 × 0.2


def test_horizon_same_day_and_release(config: HallConfig) -> None:
    assert S.day_refusal(config, "general", NOW.date(), NOW) == "booking_too_soon"  # same_day off
    assert S.day_refusal(config, "general", NOW.date() + dt.timedelta(days=8), NOW) == "booking_beyond_horizon"
    assert S.day_refusal(config, "social", WEDNESDAY, NOW) == "not_bookable"
    # bookings for Wednesday close (release to walk-ins) on Tuesday at 17:00
    assert S.release_time(config, WEDNESDAY).isoformat() == "2026-12-01T17:00:00+08:00"
    evening = NOW.replace(hour=17, minute=1)
    assert S.day_refusal(config, "general", WEDNESDAY, evening) == "booking_released"
    days = S.bookable_days(config, "general", NOW)
    assert days[0] == WEDNESDAY and HOLIDAY not in days and MAKEUP in days and SUNDAY not in days
