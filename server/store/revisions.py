"""Is the database at the newest migration? One query, no alembic.

``QueueStore.migrate()`` (server/store/base.py) runs at every start. Alembic and its
template engine (mako) cost ~9 MB of a server's memory and ~0.15 s of its start, yet on
every start but the first (and the first after an upgrade) there is nothing to do. So the
store first compares the ``alembic_version`` row with the heads of
``server/store/migrations/versions/`` (read from the files' ``revision = "..."`` and
``down_revision = "..."`` lines, the form alembic writes and this project keeps) and loads
alembic only when they differ.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from sqlalchemy import Connection, inspect, text

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:\s*:[^=]+)?\s*=\s*(.+)$", re.M)
_ID = re.compile(r"['\"]([^'\"]+)['\"]")


@functools.cache
def heads(directory: Path = VERSIONS) -> frozenset[str]:
    """The revisions no other revision builds on (normally one: the newest)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in directory.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue  # __init__.py and helpers
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            parents.update(_ID.findall(down.group(1)))  # None, "x" or ("x", "y") for a merge
    return frozenset(revisions - parents)


def at_head(conn: Connection) -> bool:
    """Whether the database's stamped revisions are exactly the heads (nothing to upgrade)."""
    if not inspect(conn).has_table("alembic_version"):
        return False
    stamped = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return stamped == heads()
