"""A small box's footprint, asserted without timing: what a server process loads, the migration check, malloc.

bench/bench_footprint.py measures the figures (start time, RSS, idle CPU); these tests keep
the causes from coming back: a heavy library imported at module level, alembic loaded on a
start with nothing to migrate, the malloc settings lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from server.config import load_config
from server.malloc import SETTINGS, tune_malloc
from server.settings import DEMO_CONFIG
from server.store.revisions import at_head, heads

ROOT = Path(__file__).resolve().parents[2]
# each is megabytes of a server's memory; none is needed by `hallq serve` without cameras at a migrated database
HEAVY = ("cv2", "numpy", "PIL", "openpyxl", "qrcode", "alembic", "mako", "httpx", "rich", "pygments")


def loaded_in_child(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; which HEAVY modules it loaded."""
    probe = textwrap.dedent(code) + textwrap.dedent(f"""
        import json, sys
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
    """)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=True)
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def no_device_config(tmp_path: Path) -> Path:
    """The demo hall without devices, as bench/bench_footprint.py's "nodevices" case runs it."""
    hall = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    hall["devices"] = []
    path = tmp_path / "nodevices.yaml"
    path.write_text(yaml.safe_dump(hall, allow_unicode=True), encoding="utf-8")
    return path


def start_app(config: Path, db: Path) -> str:
    """Code that builds the production app and runs its whole lifespan (start-up and shut-down)."""
    return f"""
        import asyncio, os
        os.environ.update(HALLQ_CONFIG={str(config)!r}, HALLQ_DATABASE_URL="sqlite:///{db}", HALLQ_LOG_LEVEL="warning")
        from server.app import create_app_from_env

        app = create_app_from_env()

        async def run():
            async with app.router.lifespan_context(app):
                await asyncio.sleep(0.5)  # the start-up tasks take their first round

        asyncio.run(run())
    """


def test_import_server_app_loads_no_heavy_library() -> None:
    assert loaded_in_child("import server.app") == []


def test_a_started_server_without_devices_loads_alembic_only_to_migrate(tmp_path: Path) -> None:
    config, db = no_device_config(tmp_path), tmp_path / "hall.db"
    first = loaded_in_child(start_app(config, db))  # a new database: migrated (mako loads pygments)
    assert "alembic" in first and set(first) <= {"alembic", "mako", "pygments"}
    assert loaded_in_child(start_app(config, db)) == []  # at head: one revision query, no alembic


def test_heads_read_from_the_files_are_alembics(tmp_path: Path) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "server" / "store" / "migrations"))
    assert heads() == frozenset(ScriptDirectory.from_config(cfg).get_heads())


def test_at_head_only_when_the_stamped_revision_is_the_newest(tmp_path: Path) -> None:
    from server.store import QueueStore

    url = f"sqlite:///{tmp_path / 'hall.db'}"
    engine = create_engine(url)
    with engine.connect() as conn:
        assert not at_head(conn)  # no alembic_version table yet
    store = QueueStore(url, load_config(DEMO_CONFIG))
    store.migrate()
    with engine.begin() as conn:
        assert at_head(conn)
        (head,) = heads()
        conn.execute(text("UPDATE alembic_version SET version_num = '0017_calendar'"))
        assert not at_head(conn)  # one migration behind: migrate() runs alembic
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    store.close()
    engine.dispose()


def test_malloc_settings_are_applied_and_exported_unless_the_environment_has_them() -> None:
    env: dict[str, str] = {}
    applied = tune_malloc(env)
    if sys.platform.startswith("linux") and applied:  # glibc: both settings, and the children inherit them
        assert applied == {name: value for name, (_, value) in SETTINGS.items()}
        assert env == {name: str(value) for name, (_, value) in SETTINGS.items()}
    own = {"MALLOC_ARENA_MAX": "4", "MALLOC_TRIM_THRESHOLD_": "1000000"}
    assert tune_malloc(dict(own)) == {}  # the operator's values stand
