"""``hallq check-config`` warns about evaluators that are not 五级-compliant (a warning, exit 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import cli

HALL = """\
hall: {name: 测试, always_open: true}
services:
  - {code: a, name: 综合, prefix: A}
windows:
  - {number: 1, services: [a]}
  - {number: 2, services: [a]}
devices:
  - id: bus1
    kind: keypad_bus
    driver: ff68
    url: sim
    windows: [1, 2]
    options:
      callers: {1: 1, 2: 2}
      evaluators:
        101: {window: 1, model: four_key}
        102: {window: 2, model: five_key}
"""


def test_a_four_key_evaluator_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hall.yaml"
    path.write_text(HALL, encoding="utf-8")
    assert cli.main(["check-config", str(path)]) == 0
    out = capsys.readouterr()
    assert "OK" in out.out
    [warning] = [line for line in out.err.splitlines() if line.startswith("warning:")]
    assert "evaluator 101" in warning and "four_key" in warning and "五级" in warning and "非常不满意" in warning


def test_five_key_evaluators_raise_no_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hall.yaml"
    path.write_text(HALL.replace("model: four_key", "model: five_key"), encoding="utf-8")
    assert cli.main(["check-config", str(path)]) == 0
    assert "warning:" not in capsys.readouterr().err


def test_required_reasons_are_noted_for_evaluators_without_reason_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "hall.yaml"
    path.write_text(HALL + "ratings: {require_reasons: true}\n", encoding="utf-8")
    assert cli.main(["check-config", str(path)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "no reason keys" in line]
    assert len(notes) == 2 and all("require_reasons" in n for n in notes)
