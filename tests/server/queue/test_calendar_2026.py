"""The 2026 calendar against the official notice, for the queue hours and the 好差评 working days alike.

Source: 国务院办公厅关于2026年部分节假日安排的通知 (国务院办公厅, 2025年11月4日; 新华社北京11月4日电,
e.g. https://politics.gmw.cn/2025-11/04/content_38391083.htm):
  一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
  二、春节：2月15日（周日）至23日（周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
  三、清明节：4月4日（周六）至6日（周一）放假，共3天。
  四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
  五、端午节：6月19日（周五）至21日（周日）放假，共3天。
  六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
  七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from server.config import load_config, parse_config
from server.queue.adapt import calendar_of
from server.queue.hours import day_intervals, opening_status
from server.ratings.calendar import WorkCalendar

D = dt.date
NOTICE_RANGES = [(D(2026, 1, 1), D(2026, 1, 3)), (D(2026, 2, 15), D(2026, 2, 23)), (D(2026, 4, 4), D(2026, 4, 6)),
                 (D(2026, 5, 1), D(2026, 5, 5)), (D(2026, 6, 19), D(2026, 6, 21)), (D(2026, 9, 25), D(2026, 9, 27)),
                 (D(2026, 10, 1), D(2026, 10, 7))]
NOTICE_WORKDAYS = [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)]
NOTICE_LENGTHS = [3, 9, 3, 5, 3, 3, 7]  # 共N天


def days(a: dt.date, b: dt.date) -> list[dt.date]:
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


CLOSED = {d for a, b in NOTICE_RANGES for d in days(a, b)}
ROOT = Path(__file__).resolve().parents[3]

# a hall open Monday to Saturday (周六上午延时服务), no own holiday list: everything from chinese-calendar
SATURDAY_HALL = """\
hall:
  name: 测试中心
  opening_hours:
    - {days: [1, 2, 3, 4, 5], open: "08:30", close: "17:30"}
    - {days: [6], open: "09:00", close: "12:00"}
  lunch_break: {start: "12:00", end: "14:00"}
services: [{code: a, name: 综合, prefix: A}]
"""


def test_the_notice_ranges_have_the_stated_lengths() -> None:
    assert [len(days(a, b)) for a, b in NOTICE_RANGES] == NOTICE_LENGTHS


def test_every_day_of_2026_matches_the_notice_for_a_monday_to_saturday_hall() -> None:
    cal = calendar_of(parse_config(SATURDAY_HALL).hall)
    for day in days(D(2026, 1, 1), D(2026, 12, 31)):
        open_ = bool(day_intervals(cal, day))
        if day in CLOSED:
            assert not open_, f"{day} is 放假 in the notice"
        elif day in NOTICE_WORKDAYS:
            assert day_intervals(cal, day) == [(dt.time(8, 30), dt.time(12)), (dt.time(14), dt.time(17, 30))], day
        else:
            assert open_ == (day.isoweekday() <= 6), day


def test_the_saturday_hall_is_closed_through_national_day() -> None:
    cal = calendar_of(parse_config(SATURDAY_HALL).hall)
    # 10-03 is a Saturday inside 国庆: closed although Saturdays are open; the next opening is 10-08
    status = opening_status(cal, dt.datetime(2026, 10, 3, 10, tzinfo=cal.tz))
    assert not status.open and status.reason == "holiday"
    assert status.next_open == dt.datetime(2026, 10, 8, 8, 30, tzinfo=cal.tz)
    # 10-10 (Saturday) is a 调休 workday: a full weekday, not the Saturday morning
    assert day_intervals(cal, D(2026, 10, 10))[-1] == (dt.time(14), dt.time(17, 30))


def test_the_working_days_of_the_ratings_deadlines_match_the_notice() -> None:
    cal = WorkCalendar()
    for day in days(D(2026, 1, 1), D(2026, 12, 31)):
        expected = day not in CLOSED and (day.weekday() < 5 or day in NOTICE_WORKDAYS)
        assert cal.is_workday(day) == expected, day


@pytest.mark.parametrize("name", ["demo.yaml", "hall.example.yaml"])
def test_the_shipped_configs_follow_the_notice(name: str) -> None:
    cfg = load_config(ROOT / "config" / name)
    cal = calendar_of(cfg.hall)
    # the review found 01-02 and 02-23 missing and the 01-04 workday absent from the demo
    for day in (D(2026, 1, 2), D(2026, 2, 23), D(2026, 10, 3), D(2026, 10, 6)):
        assert day_intervals(cal, day) == [], day
    assert day_intervals(cal, D(2026, 1, 4)), "2026-01-04 (Sunday) is a 调休 workday"
    work = WorkCalendar(cfg.hall.holidays, cfg.hall.extra_workdays, cfg.hall.holiday_source)
    assert not work.is_workday(D(2026, 2, 23)) and work.is_workday(D(2026, 9, 20))


def test_the_halls_own_lists_override_the_package() -> None:
    text = SATURDAY_HALL.replace("services:", "  holidays: [2026-11-30]\n  extra_workdays: [2026-10-07]\nservices:")
    cfg = parse_config(text)
    cal = calendar_of(cfg.hall)
    assert day_intervals(cal, D(2026, 11, 30)) == []  # the hall's own closure (a Monday)
    assert day_intervals(cal, D(2026, 10, 7))  # the hall opens on a 国庆 day
    work = WorkCalendar(cfg.hall.holidays, cfg.hall.extra_workdays, cfg.hall.holiday_source)
    assert not work.is_workday(D(2026, 11, 30)) and work.is_workday(D(2026, 10, 7))


def test_holiday_source_none_uses_only_the_halls_lists() -> None:
    cfg = parse_config(SATURDAY_HALL.replace("  lunch_break:", "  holiday_source: none\n  lunch_break:"))
    cal = calendar_of(cfg.hall)
    assert day_intervals(cal, D(2026, 10, 1))  # a Thursday, nothing says it is closed
    assert day_intervals(cal, D(2026, 1, 4)) == []  # a Sunday, no 调休 known
