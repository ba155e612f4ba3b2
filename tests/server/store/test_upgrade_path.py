"""Every schema revision, holding data, upgrades to head without losing a row (SQLite and PostgreSQL).

For each revision of the chain a database is migrated to exactly that revision, every table
it has gets a row (values chosen from each column's type, so the test follows the schema as
it was then), and the database is upgraded to head. Every row must still be there with the
same values, and the upgraded hall must work: it issues a ticket and numbers it after the
old ones. A migration that adds a NOT NULL column without a default, rebuilds a table
without copying it, or fails on a non-empty table fails here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from server.app import open_store
from server.config import HallConfig
from server.store import base as store_base

MIGRATIONS = Path(store_base.__file__).parent / "migrations"


def alembic_config() -> AlembicConfig:
    """The store's alembic configuration (as ``QueueStore.migrate`` builds it)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def revisions() -> list[str]:
    """Every revision from the first to head, in order."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def upgrade(engine: sa.Engine, revision: str) -> None:
    """alembic upgrade to ``revision`` on ``engine``."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def sample(column: sa.Column[Any], n: int) -> Any:
    """A value of the column's type, distinct per row ``n`` (so unique indexes hold)."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1_000 + n if column.primary_key else 1
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return 1.5
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 11, 2, 9, 30)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 11, 2)
    if isinstance(kind, sa.JSON):
        return {"k": n}
    if isinstance(kind, sa.LargeBinary):
        return b"\x01\x02"
    length = getattr(kind, "length", None) or 32
    return f"v{n}"[:length] if column.primary_key or column.unique else "x"[:length]


def fill(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """One row in every table but alembic's; returns what was written, per table."""
    meta = sa.MetaData()
    meta.reflect(engine)
    written: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        for n, table in enumerate(meta.sorted_tables):
            if table.name == "alembic_version":
                continue
            row = {c.name: sample(c, n) for c in table.columns
                   if not (c.primary_key and c.autoincrement is True and isinstance(c.type, sa.Integer)
                           and len(table.primary_key.columns) == 1)}
            conn.execute(table.insert().values(**row))
            written[table.name] = [row]
    return written


def read(engine: sa.Engine, table_name: str) -> list[dict[str, Any]]:
    """Every row of a table as dicts."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table))]


def check_upgrade_from(url: str, revision: str, config: HallConfig) -> None:
    """Migrate to ``revision``, fill it, upgrade to head, and find every row unchanged."""
    engine = sa.create_engine(url)
    try:
        upgrade(engine, revision)
        written = fill(engine)
        upgrade(engine, "head")
        for table_name, rows in written.items():
            now = read(engine, table_name)
            for row in rows:
                assert any(all(r.get(k) == v for k, v in row.items()) for r in now), (
                    f"{revision}: a row of {table_name} changed or vanished on upgrade: {row} not in {now}")
    finally:
        engine.dispose()
    store = open_store(url, config)  # head: the store's own migrate is a no-op, windows are added
    try:
        issued = store.issue("general").value.ticket
        assert issued.number.startswith("A")
    finally:
        store.close()


def test_the_chain_is_linear() -> None:
    """One head, no branches: every step has one successor."""
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert revisions()[0] == "0001"


@pytest.mark.parametrize("revision", revisions())
def test_upgrade_from_each_revision_keeps_data_on_sqlite(tmp_path: Path, hall_config: HallConfig,
                                                         revision: str) -> None:
    check_upgrade_from(f"sqlite:///{tmp_path / 'old.db'}", revision, hall_config)


def test_upgrade_from_each_revision_keeps_data_on_postgresql(postgres_url: str, hall_config: HallConfig) -> None:
    import psycopg

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    for revision in revisions():
        name = f"up_{revision[:4]}"
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        check_upgrade_from(postgres_url.rsplit("/", 1)[0] + f"/{name}", revision, hall_config)
