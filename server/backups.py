"""Backups of the hall's database while it runs, and restores into an empty database.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
page by page while the hall keeps writing; the backup is itself a SQLite file.
PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot in one transaction) and
``pg_restore``. ``hallq backup`` / ``hallq restore`` (server/cli.py) call these; README
"Backups" has a systemd timer example.

Errors: ``BackupError`` (one class, a message a hall's technician can act on).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class BackupError(Exception):
    """A backup or restore that could not be done (the message says why)."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup or restore wrote: the file or database, its kind and its ticket count."""

    path: str
    kind: str  # "sqlite" | "postgresql"
    tickets: int
    revision: str | None


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if parsed.database in (None, "", ":memory:"):
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(parsed.database)


def _libpq_dsn(url: str) -> str:
    # pg_dump speaks libpq: drop SQLAlchemy's "+psycopg" driver suffix
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    for folder in PG_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _facts(url: str) -> tuple[int, str | None]:
    """Ticket count and alembic revision of a database (0, None when it has no tables)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            tickets = int(conn.execute(text("SELECT count(*) FROM tickets")).scalar_one()) if "tickets" in names else 0
            revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                        if "alembic_version" in names else None)
            return tickets, revision
    finally:
        engine.dispose()


def backup(url: str, output: Path) -> BackupInfo:
    """Write a consistent copy of the database at ``url`` to ``output`` while the hall runs."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    source = _sqlite_path(url)
    if source is not None:
        if not source.exists():
            raise BackupError(f"no database at {source}")
        partial.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                contextlib.closing(sqlite3.connect(partial)) as dst:
            src.backup(dst, pages=256)  # in steps, so writers are never held up for long
            if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("the copy failed SQLite's integrity check")
        kind = "sqlite"
    else:
        done = subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial),
                               _libpq_dsn(url)], capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        kind = "postgresql"
    partial.replace(output)  # a half-written backup never carries the final name
    output.chmod(0o600)  # it holds masked personal data and keyed hashes: owner only
    tickets, revision = _facts(url) if kind == "postgresql" else _facts(f"sqlite:///{output}")
    return BackupInfo(str(output), kind, tickets, revision)


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``postgresql`` from the file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a hallq backup (neither a SQLite file nor a pg_dump archive)")


def restore(path: Path, url: str) -> BackupInfo:
    """Restore a backup into the empty database at ``url``; refuses a database that has tables."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"no backup at {path}")
    kind = backup_kind(path)
    target = _sqlite_path(url)
    if (kind == "sqlite") != (target is not None):
        raise BackupError(f"a {kind} backup cannot be restored into {make_url(url).get_backend_name()}")
    tickets, revision = _facts(url) if target is None or target.exists() else (0, None)
    if revision is not None or tickets:
        raise BackupError("the target database is not empty: restore only into a new, empty database")
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        target.chmod(0o600)
    else:
        done = subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname",
                               _libpq_dsn(url), str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    tickets, revision = _facts(url)
    return BackupInfo(str(target) if target is not None else make_url(url).render_as_string(), kind, tickets,
                      revision)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """``hallq backup`` and ``hallq restore``."""
    for name, help_text in (("backup", "copy the hall's database while it runs (SQLite backup API / pg_dump)"),
                            ("restore", "restore a backup into a new, empty database")):
        cmd = sub.add_parser(name, help=help_text)
        if name == "backup":
            cmd.add_argument("--output", "-o", type=Path, required=True, help="the backup file to write")
        else:
            cmd.add_argument("file", type=Path, help="a file written by `hallq backup`")
        cmd.add_argument("--config", type=Path, default=None, help="hall YAML (default: $HALLQ_CONFIG or demo)")
        cmd.add_argument("--database-url", default=None, help="default: the hall's (settings, then YAML)")


def run(args: argparse.Namespace) -> int:
    """Run ``hallq backup`` / ``hallq restore``; errors are one line on stderr and exit 1."""
    from server.app import database_url
    from server.config import load_config
    from server.settings import Settings

    settings = Settings(**({"config": args.config} if args.config else {}))
    url = args.database_url or database_url(settings, load_config(settings.config))
    try:
        info = backup(url, args.output) if args.command == "backup" else restore(args.file, url)
    except BackupError as exc:
        print(f"hallq {args.command}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"command": args.command, **asdict(info)}, ensure_ascii=False))
    return 0
