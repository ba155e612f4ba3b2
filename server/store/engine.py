"""Engines: SQLite in WAL mode with ``BEGIN IMMEDIATE`` writes, or PostgreSQL via psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

READ = "hallq_read"  # execution option: a read-only transaction (SQLite: deferred BEGIN; PostgreSQL: autocommit)
PREPARE_THRESHOLD = 1


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
    return _pg_engine(u)


def _pg_engine(url: URL) -> Engine:
    # prepare_threshold=1: a statement is prepared on its second use on a connection (psycopg's
    # default waits for the fifth; the hot path is a few dozen fixed statements, server/store/sql.py)
    engine = create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=False,
                           connect_args={"prepare_threshold": PREPARE_THRESHOLD})

    @event.listens_for(engine, "set_connection_execution_options")
    def _on_options(_conn: Connection, opts: dict[str, Any]) -> None:
        # A read needs no BEGIN/COMMIT round trips: under READ COMMITTED every statement takes
        # its own snapshot inside a transaction too, so autocommit reads see the same data. It
        # also spares the pool's ROLLBACK of an open read, which makes psycopg drop its
        # prepared statements (DEALLOCATE ALL).
        if opts.get(READ):
            opts.setdefault("isolation_level", "AUTOCOMMIT")

    return engine


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
