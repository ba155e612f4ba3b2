"""``hallq check-config`` warns (exit 0) on service hours outside the hall's and on elderly_age above 60."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import cli

HALL = """
hall:
  name: 测试大厅
  opening_hours:
    - {days: [1, 2, 3, 4, 5], open: "09:00", close: "12:00"}
    - {days: [1, 2, 3, 4, 5], open: "12:00", close: "17:00"}
    - {days: [6], open: "09:00", close: "12:00"}
services:
  - {code: inside, name: 甲业务, prefix: A, opening_hours: [{days: [1, 6], open: "09:30", close: "11:30"},
                                                          {days: [2], open: "10:00", close: "16:00"}]}
  - {code: early, name: 乙业务, prefix: B, opening_hours: [{days: [2], open: "08:30", close: "12:00"}]}
  - {code: sunday, name: 丙业务, prefix: C, opening_hours: [{days: [7], open: "09:00", close: "11:00"}]}
  - {code: late, name: 丁业务, prefix: D, opening_hours: [{days: [6], open: "10:00", close: "13:00"}]}
  - {code: plain, name: 戊业务, prefix: E}
windows:
  - {number: 1, services: [inside, early, sunday, late, plain]}
"""


def _check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    path = tmp_path / "hall.yaml"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["check-config", str(path)]) == 0  # warnings, not errors
    captured = capsys.readouterr()
    assert "OK" in captured.out
    return [line for line in captured.err.splitlines() if line.startswith("warning:")]


def test_service_hours_outside_the_halls_are_warned_per_weekday(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warnings = _check(tmp_path, HALL, capsys)
    flagged = sorted(w.split()[2] for w in warnings)
    # early opens before 09:00; sunday the hall is closed; late closes after the Saturday 12:00;
    # inside spans the hall's 12:00 seam on Tuesday (09–12 + 12–17 is one interval) and is fine
    assert flagged == ["early（乙业务）周二", "late（丁业务）周六", "sunday（丙业务）周日"], warnings
    sunday = next(w for w in warnings if "sunday" in w)
    assert "休息 / closed" in sunday and "09:00–11:00" in sunday
    early = next(w for w in warnings if "early" in w)
    assert "09:00–17:00" in early and "08:30–12:00" in early


def test_always_open_halls_have_no_hours_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = HALL.replace("  name: 测试大厅\n", "  name: 测试大厅\n  always_open: true\n")
    assert _check(tmp_path, text, capsys) == []


@pytest.mark.parametrize(("age", "warned"), [(60, False), (55, False), (65, True)])
def test_elderly_age_above_the_legal_60_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], age: int, warned: bool
) -> None:
    text = HALL.split("services:")[0]
    text += "services:\n  - {code: plain, name: 戊业务, prefix: E}\nwindows:\n  - {number: 1, services: [plain]}\n"
    text += f"policy: {{elderly_age: {age}}}\n"
    warnings = _check(tmp_path, text, capsys)
    assert bool(warnings) is warned, warnings
    if warned:
        assert "老年人权益保障法" in warnings[0] and "60–64" in warnings[0]
