"""``hallq backup`` while the hall issues tickets, and ``hallq restore`` into an empty database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from server.auth.service import AuthSettings
from server.backups import BackupError, backup, backup_kind, restore
from tests.support import make_app
from tests.support.serving import serving

ROOT = Path(__file__).resolve().parents[2]


def hallq(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``hallq`` command line (``python -m server.cli``)."""
    return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def tickets_in(url: str) -> dict[int, str]:
    """id → display number of every ticket in a database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {int(r[0]): str(r[1]) for r in conn.execute(text("SELECT id, number FROM tickets"))}
    finally:
        engine.dispose()


async def _backup_under_load(tmp_path: Path, config: Any, backup_file: Path) -> dict[int, str]:
    """Issue tickets over HTTP; run ``hallq backup`` mid-stream; return the tickets acknowledged before it."""
    app = make_app(tmp_path, config)
    acknowledged: dict[int, str] = {}
    before_backup: dict[int, str] = {}
    stop = asyncio.Event()
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        app.state.services.auth.settings = AuthSettings(issue_limits=False)  # a load test: no per-account cap
        signed = await client.post("/api/auth/token", data={"username": "admin", "password": "admin-demo"})
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"

        async def issuer(service: str) -> None:
            while not stop.is_set():
                r = await client.post("/api/tickets", json={"service": service})
                assert r.status_code == 201, r.text
                ticket = r.json()["ticket"] if "ticket" in r.json() else r.json()
                acknowledged[int(ticket["id"])] = str(ticket["number"])

        load = [asyncio.create_task(issuer(s)) for s in ("general", "social", "general")]
        while len(acknowledged) < 40:
            await asyncio.sleep(0.01)
        before_backup = dict(acknowledged)
        done = await asyncio.to_thread(hallq, "backup", "--output", str(backup_file),
                                       "--database-url", f"sqlite:///{tmp_path / 'hall.db'}")
        after = len(acknowledged)
        stop.set()
        await asyncio.gather(*load)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["kind"] == "sqlite" and answer["tickets"] >= len(before_backup)
    assert after > len(before_backup)  # the hall kept issuing while the backup ran
    return before_backup


def test_a_backup_taken_under_load_restores_every_acknowledged_ticket(tmp_path: Path, hall_config: Any) -> None:
    backup_file = tmp_path / "backups" / "hall-backup.db"
    before = asyncio.run(_backup_under_load(tmp_path, hall_config, backup_file))
    assert backup_kind(backup_file) == "sqlite"
    assert oct(backup_file.stat().st_mode & 0o777) == "0o600"

    restored_url = f"sqlite:///{tmp_path / 'restored' / 'hall.db'}"
    done = hallq("restore", str(backup_file), "--database-url", restored_url)
    assert done.returncode == 0, done.stderr
    restored = tickets_in(restored_url)
    assert before.items() <= restored.items()  # every ticket acknowledged before the backup, same number
    assert len(set(restored.values())) == len(restored)  # no number repeated within the day

    # the restored hall starts and continues its numbering after the last restored ticket
    from fastapi.testclient import TestClient

    app = make_app(tmp_path / "restored", hall_config)
    with TestClient(app) as client:
        signed = client.post("/api/auth/token", data={"username": "admin", "password": "admin-demo"})
        r = client.post("/api/tickets", json={"service": "general"},
                        headers={"Authorization": f"Bearer {signed.json()['access_token']}"})
        assert r.status_code == 201, r.text
        number = (r.json().get("ticket") or r.json())["number"]
    assert number not in restored.values()


def test_restore_refuses_a_database_that_is_not_empty(tmp_path: Path, hall_config: Any) -> None:
    from fastapi.testclient import TestClient

    with TestClient(make_app(tmp_path, hall_config)):
        pass  # a migrated, seeded hall.db
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    copy = backup(url, tmp_path / "copy.db")
    with pytest.raises(BackupError, match="not empty"):
        restore(Path(copy.path), url)
    done = hallq("restore", copy.path, "--database-url", url)
    assert done.returncode == 1 and "not empty" in done.stderr


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(BackupError, match="not a hallq backup"):
        restore(junk, f"sqlite:///{tmp_path / 'new.db'}")
    assert not (tmp_path / "new.db").exists()


def test_postgresql_backup_and_restore(tmp_path: Path, hall_config: Any, postgres_url: str) -> None:
    import psycopg

    from server.app import open_store

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "bk_source"')
        conn.execute('CREATE DATABASE "bk_target"')
    source = postgres_url.rsplit("/", 1)[0] + "/bk_source"
    target = postgres_url.rsplit("/", 1)[0] + "/bk_target"
    store = open_store(source, hall_config)
    try:
        issued = [store.issue("general").value.ticket.id for _ in range(5)]
    finally:
        store.close()
    info = backup(source, tmp_path / "pg.dump")
    assert info.kind == "postgresql" and backup_kind(tmp_path / "pg.dump") == "postgresql"
    restored = restore(tmp_path / "pg.dump", target)
    assert restored.tickets == 5 and restored.revision == info.revision
    assert set(issued) <= set(tickets_in(target))
