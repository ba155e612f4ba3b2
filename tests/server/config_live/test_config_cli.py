"""``hallq config export|import``: YAML check-config reads, loaded back as the next version, heard by a running app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.cli import check_config, main
from server.config import load_config
from tests.support import demo_bearer, make_app, until_sync


def test_export_then_import_a_changed_yaml_while_the_server_runs(tmp_path: Path, hall_config: Any,
                                                                capsys: Any) -> None:
    app = make_app(tmp_path, hall_config, event_poll_seconds=0.1)
    db = ["--database-url", f"sqlite:///{tmp_path / 'hall.db'}"]
    with TestClient(app) as client:
        client.headers.update(demo_bearer(client, "admin"))
        out = tmp_path / "hall.yaml"
        assert main(["config", "export", str(out), *db]) == 0
        assert check_config(out) == 0
        assert load_config(out).model_dump(mode="json") == client.get("/api/config").json()["config"]

        edited = out.read_text(encoding="utf-8") + "bulletin:\n  notices: [命令行导入的公告]\n"
        out.write_text(edited, encoding="utf-8")
        assert main(["config", "import", str(out), *db]) == 0
        assert "stored as version 2" in capsys.readouterr().out
        # the running app hears config.changed from the event log (as another worker would) and applies it
        until_sync(lambda: client.get("/api/config/public").json()["notices"] == ["命令行导入的公告"], 5)
        assert app.state.services.live.version == 2
        assert main(["config", "import", str(out), "--expected-version", "1", *db]) == 2
        assert main(["config", "import", str(out), *db]) == 0  # the same file again: no empty version
        assert "unchanged" in capsys.readouterr().out and app.state.services.live.version == 2

        out.write_text("hall: {name: 坏配置}\nservices: []\n", encoding="utf-8")
        assert main(["config", "import", str(out), *db]) == 1
        assert "services" in capsys.readouterr().err
        assert client.get("/api/config").json()["version"] == 2
