"""Hall configuration: the shipped files load; every problem names its path and line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from server.config import HallConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
hall:
  name: 测试大厅
  always_open: true
services:
  - code: general
    name: 综合受理
    prefix: A
  - code: tax
    name: 税务
    prefix: B
windows:
  - number: 1
    services: [general, {code: tax, role: secondary}]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(HallConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_demo_config_is_a_realistic_hall() -> None:
    cfg = load_config(ROOT / "config" / "demo.yaml")
    assert cfg.hall.always_open is True
    assert 10 <= len(cfg.services) <= 12
    assert len(cfg.windows) == 16
    assert {k.id for k in cfg.kiosks} == {"k1", "k2"}
    assert cfg.policy.elderly_age == 60  # 《老年人权益保障法》第二条: 六十周岁以上
    # devices are filled in by the device engineers; every binding must point at something real
    assert all(d.kiosk in {"k1", "k2", None} for d in cfg.devices)
    names = {s.name for s in cfg.services}
    assert {"综合受理", "社会保障", "医疗保障", "住房公积金", "不动产登记", "户籍", "税务"} <= names
    # 综合窗口 serve several services, primaries first
    w1 = cfg.window(1)
    assert w1.services[0].role == "primary" and len(w1.services) >= 3
    assert any(ws.role == "secondary" for ws in w1.services)
    assert all(s.notice for s in cfg.services)
    assert cfg.hall.lunch_break is not None and cfg.hall.lunch_break.start == dt.time(12, 0)


def test_example_config_loads_with_devices() -> None:
    cfg = load_config(ROOT / "config" / "hall.example.yaml")
    assert cfg.hall.always_open is False
    assert {d.kind for d in cfg.devices} >= {"ticket_printer", "keypad_bus"}


def test_minimal_config_and_defaults() -> None:
    cfg = parse_config(MINIMAL)
    assert cfg.hall.timezone == "Asia/Shanghai"
    assert cfg.window(1).services[1].role == "secondary"
    assert cfg.windows_by_service == {"general": (1,), "tax": (1,)}
    assert cfg.server.database_url == "sqlite:///var/hallq.db"


def test_field_error_names_path_and_line() -> None:
    text = MINIMAL.replace("prefix: B", "prefix: b1")
    assert problems(text) == ["services[1].prefix: String should match pattern '^[A-Z]{1,2}$' (line 10)"]


def test_unknown_key_is_an_error_at_its_line() -> None:
    text = MINIMAL.replace("    name: 税务\n", "    name: 税务\n    colour: red\n")
    assert problems(text) == ["services[1].colour: unknown key (line 10)"]


def test_every_problem_is_listed() -> None:
    text = MINIMAL.replace("prefix: A", "prefix: '1'").replace("number: 1", "number: 0")
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("services[0].prefix:") and found[0].endswith("(line 7)")
    assert found[1].startswith("windows[0].number:") and found[1].endswith("(line 12)")


def test_missing_field_points_at_its_parent() -> None:
    text = MINIMAL.replace("    name: 税务\n", "")
    assert problems(text) == ["services[1].name: Field required (line 8)"]


def test_cross_references_are_checked() -> None:
    text = MINIMAL.replace("prefix: B", "prefix: A").replace("code: tax, role", "code: nope, role")
    found = problems(text)
    assert "services[1].prefix: prefix 'A' is already used by another service (line 10)" in found
    assert "windows[0].services[1].code: unknown service 'nope' (line 13)" in found


def test_unquoted_clock_times_are_understood() -> None:
    text = MINIMAL.replace("  always_open: true\n",
                           "  opening_hours:\n    - {days: [1], open: 9:00, close: 17:30}\n"
                           "  lunch_break: {start: 12:00, end: 13:30}\n")
    cfg = parse_config(text)
    assert cfg.hall.opening_hours[0].close == dt.time(17, 30)
    assert cfg.hall.lunch_break is not None and cfg.hall.lunch_break.end == dt.time(13, 30)


def test_closing_before_opening_is_refused() -> None:
    bad = "  opening_hours:\n    - {days: [1], open: '17:00', close: '09:00'}\n"
    text = MINIMAL.replace("  always_open: true\n", bad)
    assert problems(text) == ["hall.opening_hours[0].close: Value error, close must be after open (line 4)"]


def test_opening_hours_needed_unless_always_open() -> None:
    found = problems(MINIMAL.replace("  always_open: true\n", ""))
    assert found == ["hall.opening_hours: needs at least one entry unless hall.always_open is true (line 2)"]


def test_bad_yaml_and_bad_zone() -> None:
    assert problems("hall: [\n")[0].startswith("(yaml):")
    assert problems(MINIMAL.replace("always_open: true", "always_open: true\n  timezone: Mars/Base"))[0] \
        .startswith("hall.timezone: Value error, unknown time zone")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HallConfigError, match="cannot read"):
        load_config(tmp_path / "none.yaml")
