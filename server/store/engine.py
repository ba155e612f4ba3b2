"""Engines: SQLite in WAL mode with ``BEGIN IMMEDIATE`` writes, or PostgreSQL via psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

READ = "hallq_read"  # execution option: a read-only transaction (SQLite: deferred BEGIN)


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``; creates the SQLite file's directory."""
    u = make_url(normalise_url(url))
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(u.render_as_string(hide_password=False), u.database)
    return create_engine(u, pool_size=10, max_overflow=30, pool_pre_ping=False)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    memory = not database or database == ":memory:"
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30.0}}
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        Path(database or "").parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(pool_size=8, max_overflow=56)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy's "begin" hook below emit BEGIN itself (pysqlite's own is deferred)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL may wait for another process
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # writers take the write lock up front, so two processes never both read-then-write
        if conn.get_execution_options().get(READ):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
