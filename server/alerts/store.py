"""The ``alerts`` table (server/store/tables.py) and its operations.

De-duplication: while an alert of a (type, subject) is unresolved, a new report of it updates that
row (``last_seen``, ``count`` + 1, newer message, evidence kept or replaced) instead of adding one.
``once`` reports (an event that cannot recur, e.g. the 差评 of ticket 17, reported both by the
store's ``ticket.rated`` and by the camera with its snapshot, or by every worker following the
outbox) merge into the existing row — resolved or not — without counting again.
On SQLite the check-then-write is one BEGIN IMMEDIATE transaction, so it is atomic across processes; on
PostgreSQL the partial unique index ``ux_alerts_open`` (one unresolved row per type and subject) catches
two workers inserting at once, and the loser merges into the winner's row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.errors import NotFound
from server.store.engine import READ
from server.store.tables import alerts

STATES = ("open", "acked", "resolved", "all")


def unknown_alert(alert_id: int) -> NotFound:
    """No alert has this id."""
    return NotFound(f"没有此告警：{alert_id}", f"Unknown alert: {alert_id}", code="unknown_alert", alert=alert_id)


@dataclass(frozen=True)
class Alert:
    """One stored alert."""

    id: int
    type: str
    severity: str
    subject: str
    message: str
    evidence: str | None
    first_seen: int
    last_seen: int
    count: int
    acked_by: str | None
    acked_at: int | None
    resolved_by: str | None
    resolved_at: int | None

    @property
    def state(self) -> str:
        """open, acked or resolved."""
        return "resolved" if self.resolved_at is not None else "acked" if self.acked_at is not None else "open"

    def to_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        """JSON form; times are local ISO strings."""
        def iso(ms: int | None) -> str | None:
            return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="seconds")

        return {"id": self.id, "type": self.type, "severity": self.severity, "subject": self.subject,
                "message": self.message, "evidence": self.evidence, "first_seen": iso(self.first_seen),
                "last_seen": iso(self.last_seen), "count": self.count, "state": self.state,
                "acked_by": self.acked_by, "acked_at": iso(self.acked_at), "resolved_by": self.resolved_by,
                "resolved_at": iso(self.resolved_at)}


def _alert(row: Any) -> Alert:
    return Alert(row.id, row.type, row.severity, row.subject, row.message, row.evidence, row.first_seen,
                 row.last_seen, row._mapping["count"], row.acked_by, row.acked_at, row.resolved_by, row.resolved_at)


class AlertStore:
    """Alert rows on the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def report(self, type_: str, subject: str, *, severity: str, message: str, evidence: str | None, now: int,
               once: bool = False) -> tuple[Alert, bool]:
        """Record one report; (the alert, whether it changed).

        Another worker may insert the same open alert between our check and our insert: the unique
        index ``ux_alerts_open`` (0010_alerts_dedup) refuses ours and the retry merges into theirs.
        """
        try:
            return self._report(type_, subject, severity=severity, message=message, evidence=evidence, now=now,
                                once=once)
        except IntegrityError:
            return self._report(type_, subject, severity=severity, message=message, evidence=evidence, now=now,
                                once=once)

    def _report(self, type_: str, subject: str, *, severity: str, message: str, evidence: str | None, now: int,
                once: bool) -> tuple[Alert, bool]:
        a = alerts.c
        with self.engine.begin() as conn:
            where = [a.type == type_, a.subject == subject]
            if not once:
                where.append(a.resolved_at.is_(None))
            row = conn.execute(select(alerts).where(*where).order_by(a.id.desc()).limit(1)).first()
            if row is None:
                new = conn.execute(insert(alerts).returning(*alerts.c), {
                    "type": type_, "severity": severity, "subject": subject, "message": message[:400],
                    "evidence": evidence, "first_seen": now, "last_seen": now, "count": 1}).one()
                return _alert(new), True
            if once:
                if evidence is None or evidence == row.evidence:
                    return _alert(row), False
                values: dict[str, Any] = {"evidence": evidence}
            else:
                # count + 1 in SQL: two workers updating at once must not lose one of the reports
                values = {"last_seen": now, "count": a["count"] + 1, "message": message[:400],
                          "evidence": evidence or row.evidence}
            done = conn.execute(update(alerts).where(a.id == row.id).values(**values).returning(*alerts.c)).one()
            return _alert(done), True

    def clear(self, type_: str, subject: str, *, now: int) -> Alert | None:
        """The condition ended (e.g. the clerk is back): resolve the open alert by ``system``."""
        a = alerts.c
        with self.engine.begin() as conn:
            row = conn.execute(update(alerts).where(a.type == type_, a.subject == subject, a.resolved_at.is_(None))
                               .values(resolved_at=now, resolved_by="system").returning(*alerts.c)).first()
        return None if row is None else _alert(row)

    def get(self, alert_id: int) -> Alert:
        """One alert, or 404."""
        with self.engine.connect().execution_options(**{READ: True}) as conn, conn.begin():
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        if row is None:
            raise unknown_alert(alert_id)
        return _alert(row)

    def list(self, *, state: str = "open", type_: str | None = None, limit: int = 200) -> list[Alert]:
        """Alerts newest first; ``state`` open (unresolved, acked or not), acked, resolved or all."""
        a = alerts.c
        q = select(alerts)
        if state == "open":
            q = q.where(a.resolved_at.is_(None))
        elif state == "acked":
            q = q.where(a.resolved_at.is_(None), a.acked_at.is_not(None))
        elif state == "resolved":
            q = q.where(a.resolved_at.is_not(None))
        if type_ is not None:
            q = q.where(a.type == type_)
        with self.engine.connect().execution_options(**{READ: True}) as conn, conn.begin():
            rows = conn.execute(q.order_by(a.last_seen.desc(), a.id.desc()).limit(limit)).all()
        return [_alert(r) for r in rows]

    def ack(self, alert_id: int, *, actor: str, now: int) -> Alert:
        """Acknowledge (idempotent: the first acknowledgement is kept)."""
        a = alerts.c
        with self.engine.begin() as conn:
            conn.execute(update(alerts).where(a.id == alert_id, a.acked_at.is_(None))
                         .values(acked_by=actor[:64], acked_at=now))
        return self.get(alert_id)

    def resolve(self, alert_id: int, *, actor: str, now: int) -> Alert:
        """Resolve (acknowledging it too, if nobody had); idempotent."""
        a = alerts.c
        with self.engine.begin() as conn:
            conn.execute(update(alerts).where(a.id == alert_id, a.acked_at.is_(None))
                         .values(acked_by=actor[:64], acked_at=now))
            conn.execute(update(alerts).where(a.id == alert_id, a.resolved_at.is_(None))
                         .values(resolved_by=actor[:64], resolved_at=now))
        return self.get(alert_id)
