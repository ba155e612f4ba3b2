"""Stored versions of the hall configuration (table ``config_versions``) and the ``config.changed`` event.

Every change is one short store transaction: the new version row, its audit record (with the
diff) and the ``config.changed`` outbox event commit together, so every worker and device host
hears of exactly the versions that exist. Versions are never rewritten; a restore stores the
old document again as the next version.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from server.config import HallConfig
from server.errors import Conflict, NotFound
from server.queue.events import DataEvent, EventType
from server.store.tables import config_versions

TOPICS = ("hall", "config")  # public screens follow "hall"; the payload is only the version
AuditFn = Callable[[Connection], None]


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version."""

    version: int
    at: int
    actor: str
    source: str
    restored_from: int | None
    document: dict[str, Any]

    def config(self) -> HallConfig:
        """The configuration it holds (validated again: the schema may have gained defaults)."""
        return HallConfig.model_validate(self.document)

    def loads(self) -> HallConfig | None:
        """``config()``, or None when today's schema no longer accepts the stored document."""
        try:
            return self.config()
        except ValidationError:
            return None

    def summary(self) -> dict[str, Any]:
        """The listing form (no document)."""
        return {"version": self.version, "at": self.at, "actor": self.actor, "source": self.source,
                "restored_from": self.restored_from}


def topics_of(config: HallConfig) -> tuple[str, ...]:
    """Where ``config.changed`` goes: the hall and config topics, and each window (its screen's 监督电话)."""
    return (*TOPICS, *(f"window:{w.number}" for w in config.windows))


def document_of(config: HallConfig) -> dict[str, Any]:
    """The JSON form of a configuration (what is stored, answered and diffed)."""
    return config.model_dump(mode="json")


def same(a: HallConfig, b: HallConfig) -> bool:
    """Equal as stored (JSON turns the int keys of some driver options into strings)."""
    return document_of(a) == document_of(b)


def _version(row: Any) -> Version:
    return Version(int(row.version), int(row.at), row.actor, row.source, row.restored_from, json.loads(row.config))


def stale(current: int, expected: int) -> Conflict:
    """409 ``config_stale``: someone stored a newer version first."""
    return Conflict("配置已被他人修改，请刷新后重试", "Someone changed the configuration first; reload and retry",
                    code="config_stale", current_version=current, expected_version=expected)


def latest(conn: Connection) -> Version | None:
    """The newest stored version, or None when nothing is stored yet."""
    row = conn.execute(select(config_versions).order_by(config_versions.c.version.desc()).limit(1)).first()
    return _version(row) if row is not None else None


def latest_number(conn: Connection) -> int:
    """The newest version number (0 when none)."""
    return int(conn.execute(select(func.coalesce(func.max(config_versions.c.version), 0))).scalar_one())


def get(conn: Connection, number: int) -> Version:
    """One version; 404 ``unknown_config_version``."""
    row = conn.execute(select(config_versions).where(config_versions.c.version == number)).first()
    if row is None:
        raise NotFound(f"没有第{number}版配置", f"No configuration version {number}", code="unknown_config_version")
    return _version(row)


def listing(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` versions, newest first."""
    rows = conn.execute(select(config_versions).order_by(config_versions.c.version.desc()).limit(limit))
    return [_version(r).summary() for r in rows]


def store_version(store: Any, config: HallConfig, *, expected: int, actor: str, source: str,
                  restored_from: int | None = None, audit: AuditFn | None = None,
                  before: Callable[[Any], None] | None = None) -> tuple[int, tuple[Any, ...]]:
    """Store ``config`` as version ``expected + 1`` (409 unless ``expected`` is the newest); the number and events.

    ``before(tx)`` runs first in the same transaction (e.g. moving waiting tickets of a removed
    service); ``audit(conn)`` writes the audit record in it.
    """
    try:
        with store._tx() as tx:
            current = latest_number(tx.conn)
            if current != expected:
                raise stale(current, expected)
            if before is not None:
                before(tx)
            number = current + 1
            tx.conn.execute(insert(config_versions), {
                "version": number, "at": tx.ms, "actor": actor[:80], "source": source,
                "restored_from": restored_from,
                "config": json.dumps(document_of(config), ensure_ascii=False, sort_keys=True),
            })
            if audit is not None:
                audit(tx.conn)
            tx.emit(EventType.CONFIG_CHANGED, topics_of(config), DataEvent({"version": number, "source": source}))
    except IntegrityError:  # another process took the same number between our read and insert
        with store._read() as conn:
            raise stale(latest_number(conn), expected) from None
    return number, tuple(tx.events)


def bootstrap(store: Any, config: HallConfig, *, follow_yaml: bool = True) -> Version:
    """The configuration to start with: the newest stored version, the YAML's when it is newer.

    On the very first start the YAML becomes version 1. While nobody changed the configuration
    live (the newest version came from the YAML), a changed YAML file is stored as the next
    version: editing the file and restarting keeps working. Once an admin changed it live, the
    stored version wins and the YAML is loaded only by ``hallq config import``.
    ``follow_yaml=False`` (the CLI) never stores the YAML over an existing version.
    """
    with store._read() as conn:
        found = latest(conn)
    loaded = found.loads() if found is not None else None
    if follow_yaml and found is not None and found.source == "yaml" and (loaded is None or not same(loaded, config)):
        with contextlib.suppress(Conflict):  # another worker stored it first
            store_version(store, config, expected=found.version, actor="system", source="yaml")
        with store._read() as conn:
            found = latest(conn)
    if found is not None:
        return found
    try:
        with store._tx() as tx:
            if latest_number(tx.conn) == 0:
                tx.conn.execute(insert(config_versions), {
                    "version": 1, "at": tx.ms, "actor": "system", "source": "yaml", "restored_from": None,
                    "config": json.dumps(document_of(config), ensure_ascii=False, sort_keys=True),
                })
    except IntegrityError:  # another worker stored version 1 at the same moment
        pass
    with store._read() as conn:
        found = latest(conn)
    assert found is not None
    return found
