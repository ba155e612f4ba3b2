"""§17: ticket-issue limits are shared by every server process (they live in the database)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from server.auth.service import AuthService, AuthSettings
from server.auth.tables import metadata, rate_hits


def test_two_processes_share_one_issue_limit(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rates.db'}")
    metadata.create_all(engine)
    secret = secrets.token_bytes(32)
    workers = [AuthService(engine, secret, AuthSettings()), AuthService(engine, secret, AuthSettings())]
    limit = workers[0].settings.issue.per_kiosk
    checks = [("kiosk:k1", limit)]
    answers = [workers[i % 2].issue_counters.hit(workers[i % 2], checks) for i in range(limit[0] + 10)]
    allowed = [a for a in answers if a is None]
    assert len(allowed) == limit[0]  # not 2× the limit with two workers
    refused = [a for a in answers if a is not None]
    assert refused and all(key == "kiosk:k1" and 1 <= wait <= limit[1] for key, wait in refused)
    assert all(w.issue_counters.stored for w in workers)


def test_old_buckets_are_pruned(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rates.db'}")
    metadata.create_all(engine)
    now = [1_000_000.0]
    auth = AuthService(engine, b"k" * 32, AuthSettings())
    auth.clock = lambda: dt.datetime.fromtimestamp(now[0], dt.UTC)
    for i in range(300):
        auth.issue_counters.hit(auth, [(f"ip:10.0.{i // 250}.{i % 250}", (300, 60.0))])
        now[0] += 1
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(rate_hits)).scalar()
    assert rows is not None and rows < 200  # buckets older than their window are gone


def test_readme_limits_match_the_code() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    s = AuthSettings()
    for name, value in (("kiosk", s.kiosk_rate), ("address", s.ip_rate), ("account", s.account_rate)):
        count, seconds = value.split("/")
        per = "min" if seconds == "60" else f"{seconds} s"
        assert f"{count}/{per}" in readme, f"README does not state the {name} limit {count}/{per}"


def test_the_app_counts_issues_in_the_database(tmp_path: Path, demo_config: Any) -> None:
    from fastapi.testclient import TestClient

    from tests.support import make_app

    from .conftest import DEVICE, config_in

    app = make_app(tmp_path, config_in(tmp_path, demo_config))
    with TestClient(app) as c:
        auth = app.state.services.auth
        auth.settings = AuthSettings(kiosk_rate="3/60")
        answers = [c.post("/api/kiosks/k1/tickets", headers=DEVICE["kiosk"], json={"service": "general"}).status_code
                   for _ in range(5)]
        assert answers.count(429) == 2, answers
        assert auth.issue_counters.stored  # the migrated database has rate_hits: shared by every worker
        with auth.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(rate_hits)).scalar()


def test_shared_limit_on_postgresql(postgres_db_url: str) -> None:
    engine = create_engine(postgres_db_url)
    metadata.create_all(engine)
    try:
        workers = [AuthService(engine, b"k" * 32, AuthSettings()) for _ in range(2)]
        answers = [workers[i % 2].issue_counters.hit(workers[i % 2], [("kiosk:k1", (5, 60.0))]) for i in range(8)]
        assert answers.count(None) == 5 and all(w.issue_counters.stored for w in workers)
    finally:
        engine.dispose()
