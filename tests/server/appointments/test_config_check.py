"""``hallq check-config``: every ``appointments.services[].code`` must name a service of the hall."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from server.cli import check_config
from server.settings import DEMO_CONFIG


def _write(tmp_path: Path, change: Any) -> Path:
    data = yaml.safe_load(Path(DEMO_CONFIG).read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_demo_appointments_name_real_services(tmp_path: Path, capsys: Any) -> None:
    assert check_config(_write(tmp_path, lambda d: None)) == 0


def test_an_unknown_or_repeated_appointment_service_is_an_error_with_its_path(tmp_path: Path, capsys: Any) -> None:
    def change(data: dict[str, Any]) -> None:
        services = data["appointments"]["services"]
        services.append({**services[0], "code": "passport"})
        services.append(dict(services[0]))

    assert check_config(_write(tmp_path, change)) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    n = len(yaml.safe_load(Path(DEMO_CONFIG).read_text(encoding="utf-8"))["appointments"]["services"])
    assert f"appointments.services[{n}].code" in text and "unknown service 'passport'" in text
    assert f"appointments.services[{n + 1}].code" in text and "listed twice" in text
