"""The `hallq` command line: check-config and how serve passes settings on."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from server import cli
from server.hosting import process
from server.settings import DEMO_CONFIG, Settings


def test_check_config_accepts_the_demo_hall(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check-config", str(DEMO_CONFIG)]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_lists_problems_with_path_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("hall: {name: 测试, always_open: true}\nservices:\n  - {code: a, name: 甲, prefix: a1}\n")
    assert cli.main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "services[0].prefix" in err and "line 3" in err


def test_serve_passes_flags_to_every_worker_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("HALLQ_CONFIG", "HALLQ_DATABASE_URL", "HALLQ_DEVICES", "HALLQ_PORT", "HALLQ_WORKERS", "HALLQ_HOST",
                "HALLQ_DEMO", "HALLQ_LOG_LEVEL", "HALLQ_ACCESS_LOG", "HALLQ_DEVICE_HOST"):
        monkeypatch.setenv(key, "")  # so that monkeypatch removes what serve() exports
        monkeypatch.delenv(key)
    started: list[tuple[str, int, int]] = []
    monkeypatch.setattr(cli, "_run", lambda host, port, workers, level, access: started.append((host, port, workers)))
    spawned: list[tuple[str, str, dict[str, str]]] = []

    class Child:
        def __init__(self) -> None:
            self.ended = threading.Event()

        def terminate(self) -> None:
            spawned.append(("terminated", "", {}))
            self.ended.set()

        def wait(self, timeout: float | None = None) -> int:
            self.ended.wait(timeout)
            return 0

    def spawn(server: str, token: str, config: Path | None, devices: dict[str, str]) -> Child:
        spawned.append((server, token, devices))
        return Child()

    monkeypatch.setattr(process, "spawn_host", spawn)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    code = cli.main(["serve", "--config", str(DEMO_CONFIG), "--port", "8123", "--workers", "3",
                     "--database-url", url, "--device", "printer-k1=socket://127.0.0.1:9100",
                     "--device", "idcard-k1=/dev/ttyUSB0"])
    assert code == 0 and started == [("127.0.0.1", 8123, 3)]
    settings = Settings()
    assert settings.database_url == url and settings.port == 8123 and settings.workers == 3
    assert settings.devices == {"printer-k1": "socket://127.0.0.1:9100", "idcard-k1": "/dev/ttyUSB0"}
    assert json.loads(cli.os.environ["HALLQ_DEVICES"])["idcard-k1"] == "/dev/ttyUSB0"
    # several workers: none opens a device; one device-host child gets the devices and a fresh device token
    assert settings.device_host == "external"
    [(server, token, devices), stopped] = spawned
    assert stopped[0] == "terminated"
    assert server == "http://127.0.0.1:8123" and devices == settings.devices and token.startswith("hqd_")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT role, revoked_at FROM device_tokens")).all()
    engine.dispose()
    assert [(r.role, r.revoked_at is not None) for r in rows] == [("device", True)]  # revoked when serve ends


def test_device_flag_needs_id_and_url() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["serve", "--device", "printer-k1"])


@pytest.mark.timeout(120)
def test_demo_starts_the_demo_hall_and_prints_the_pages(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "demo", "--port", str(port)], cwd=tmp_path,
                                env=dict(os.environ, PYTHONPATH=str(root)), stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        ticket = httpx.post(f"http://127.0.0.1:{port}/api/tickets", json={"service": "general"}, timeout=5,
                            headers={"Authorization": "Bearer hqd_demo-kiosk-k1"})  # demo accounts are seeded
        assert ticket.status_code == 201, ticket.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    printed = out.read_text(errors="replace")
    for page in cli.DEMO_PAGES:
        assert f"http://127.0.0.1:{port}{page}" in printed
    assert (tmp_path / "var" / "demo.db").exists()


@pytest.mark.parametrize("name", ["demo.yaml", "hall.example.yaml"])
def test_check_config_validates_the_shipped_configs_and_their_devices(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    assert main(["check-config", str(Path(__file__).resolve().parents[2] / "config" / name)]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_names_a_device_with_an_unknown_driver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from server.cli import main

    source = (Path(__file__).resolve().parents[2] / "config" / "hall.example.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(source.replace("driver: onbon_bx", "driver: no_such_led"), encoding="utf-8")
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "led-w1" in err and "no_such_led" in err
