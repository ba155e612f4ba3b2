"""差评 cases in the store (差评闭环台账): the ledger query, each step, and the overdue sweep.

A case is opened by ``rate`` (server/store/ratings.py) in the rating's transaction. Steps
follow server/ratings/cases.py; each is a ``case_steps`` row (who, when, what) and an
``audit_log`` row (``case.<action>``, target ``case:<id>``), in one transaction with the
state change (a conditional update, so two supervisors cannot both move it).

``sweep_overdue`` finds cases past a deadline not yet alerted for that stage and emits the
committed ``alert.case_overdue`` event (topic ``alerts``) once per case and stage; the alert
inbox (server/alerts/inbox.py) stores it as a ``case_overdue`` alert on ``case:<id>``.
Escalation (升级督办): a case still open for that stage ``ratings.escalate_days`` working days
after the missed deadline gets ``escalation_level`` 2, ``escalated_at``, an ``escalate`` step
(with its audit row) and the committed ``alert.case_escalated`` event, stored as a critical
``case_escalated`` alert — once per case and stage. Level 1 means overdue and alerted.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from server.errors import NotFound
from server.queue.events import DataEvent, EventType
from server.ratings import cases as machine
from server.ratings.calendar import WorkCalendar
from server.ratings.cases import RECTIFY_OPEN, STATE_NAMES, VERIFY_OPEN
from server.store.base import StoreBase, Tx
from server.store.ratings import audit
from server.store.rows import to_ms
from server.store.tables import case_steps, rating_cases, ratings, tickets
from server.store.views import Outcome

MAX_CASES = 2000
ALERT_TOPIC = "alerts"


def unknown_case(case_id: int) -> NotFound:
    """No case with this id."""
    return NotFound("没有此差评案件", f"Unknown case {case_id}", code="unknown_case", case=case_id)


class CaseOps(StoreBase):
    """The 差评 ledger: list, read, step, sweep."""

    def _iso(self, ms: int | None) -> str | None:
        return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, self.tz).isoformat(timespec="seconds")

    def _case_dict(self, conn: Connection, r: Any, now: int, steps: bool = False) -> dict[str, Any]:
        rating = conn.execute(select(ratings.c.reasons, ratings.c.text, ratings.c.source)
                              .where(ratings.c.ticket_id == r.ticket_id)).first()
        number = conn.execute(select(tickets.c.number).where(tickets.c.id == r.ticket_id)).scalar()
        verify_overdue = r.state in VERIFY_OPEN and now >= r.verify_due
        rectify_overdue = r.state in RECTIFY_OPEN and now >= r.rectify_due
        out: dict[str, Any] = {
            "id": r.id, "ticket_id": r.ticket_id, "number": number, "rating_uid": r.rating_uid,
            "state": r.state, "state_name": STATE_NAMES.get(r.state, r.state), "level": r.level,
            "window": r.window, "clerk": r.clerk, "service": r.service, "business_day": r.business_day,
            "channel": rating.source if rating else None,
            "reasons": json.loads(rating.reasons) if rating and rating.reasons else [],
            "text": rating.text if rating else None,
            "opened_at": self._iso(r.opened_at), "verify_due": self._iso(r.verify_due),
            "rectify_due": self._iso(r.rectify_due), "verified_at": self._iso(r.verified_at),
            "replied_at": self._iso(r.replied_at), "closed_at": self._iso(r.closed_at),
            "outcome": r.outcome, "callback_result": r.callback_result,
            "overdue": verify_overdue or rectify_overdue,
            "overdue_stage": "verify" if verify_overdue else ("rectify" if rectify_overdue else None),
            # 0 in time, 1 overdue (alerted), 2 escalated (升级督办); the stage escalated last and when
            "escalation_level": int(r.escalation_level or 0), "escalated_stage": r.escalated,
            "escalated_at": self._iso(r.escalated_at),
        }
        if steps:
            rows = conn.execute(select(case_steps).where(case_steps.c.case_id == r.id)
                                .order_by(case_steps.c.at, case_steps.c.id)).all()
            out["steps"] = [{"action": s.action, "from_state": s.from_state, "to_state": s.to_state,
                             "actor": s.actor, "at": self._iso(s.at), "detail": json.loads(s.detail)} for s in rows]
        return out

    def list_cases(self, *, state: str | None = None, window: int | None = None, clerk: str | None = None,
                   overdue: bool | None = None, start: str | None = None, end: str | None = None,
                   limit: int = 500) -> list[dict[str, Any]]:
        """Cases matching the filters (business days ``start``..``end`` inclusive), newest first."""
        c = rating_cases.c
        q = select(rating_cases)
        if state:
            q = q.where(c.state == state)
        if window is not None:
            q = q.where(c.window == window)
        if clerk:
            q = q.where(c.clerk == clerk)
        if start:
            q = q.where(c.business_day >= start)
        if end:
            q = q.where(c.business_day <= end)
        now = to_ms(self.clock())
        if overdue is not None:
            late = or_(and_(c.state.in_(VERIFY_OPEN), c.verify_due <= now),
                       and_(c.state.in_(RECTIFY_OPEN), c.rectify_due <= now))
            q = q.where(late if overdue else ~late)
        with self._read() as conn:
            rows = conn.execute(q.order_by(c.opened_at.desc(), c.id.desc()).limit(min(limit, MAX_CASES))).all()
            return [self._case_dict(conn, r, now) for r in rows]

    def get_case(self, case_id: int) -> dict[str, Any]:
        """One case with every step."""
        with self._read() as conn:
            r = conn.execute(select(rating_cases).where(rating_cases.c.id == case_id)).first()
            if r is None:
                raise unknown_case(case_id)
            return self._case_dict(conn, r, to_ms(self.clock()), steps=True)

    def case_step(self, case_id: int, action: str, body: dict[str, Any], *, actor: str) -> Outcome[dict[str, Any]]:
        """Move a case one step (verify, rectify, reply, close, appeal); who and when are stored."""
        with self._tx() as tx:
            r = tx.conn.execute(select(rating_cases).where(rating_cases.c.id == case_id)).first()
            if r is None:
                raise unknown_case(case_id)
            new_state, detail = machine.step(r.state, r.before_appeal, action, body)
            values: dict[str, Any] = {"state": new_state, "updated_at": tx.ms}
            if action == "rectify":
                values["verified_at"] = tx.ms
            elif action == "reply":
                values["replied_at"] = tx.ms
            elif action == "close":
                values.update(closed_at=tx.ms, outcome="closed", callback_result=detail["callback_result"])
            elif new_state == machine.CaseState.APPEALED.value:
                values["before_appeal"] = r.state
            elif new_state == machine.CaseState.CLOSED.value:  # appeal upheld
                values.update(closed_at=tx.ms, outcome="appeal_upheld", before_appeal=None)
            else:  # appeal rejected: back where it was
                values["before_appeal"] = None
            done = tx.conn.execute(update(rating_cases).where(rating_cases.c.id == case_id,
                                                              rating_cases.c.state == r.state).values(**values))
            if done.rowcount != 1:
                raise machine.invalid_step(r.state, action)
            self._step_row(tx, case_id, action, r.state, new_state, actor, detail)
            view = self._case_dict(tx.conn, tx.conn.execute(
                select(rating_cases).where(rating_cases.c.id == case_id)).one(), tx.ms, steps=True)
        return Outcome(view, tuple(tx.events))

    def _step_row(self, tx: Tx, case_id: int, action: str, from_state: str | None, to_state: str, actor: str,
                  detail: dict[str, Any]) -> None:
        tx.conn.execute(insert(case_steps), {"case_id": case_id, "action": action, "from_state": from_state,
                                             "to_state": to_state, "actor": actor[:80], "at": tx.ms,
                                             "detail": json.dumps(detail, ensure_ascii=False)})
        audit(tx, actor, f"case.{action}", f"case:{case_id}", {"from": from_state, "to": to_state, **detail})

    def sweep_overdue(self) -> Outcome[list[int]]:
        """Alert (once per case and stage) every case past its verify or rectify deadline."""
        c = rating_cases.c
        with self._tx() as tx:
            late_verify = and_(c.state.in_(VERIFY_OPEN), c.verify_due <= tx.ms, c.alerted.is_(None))
            late_rectify = and_(c.state.in_(RECTIFY_OPEN), c.rectify_due <= tx.ms,
                                or_(c.alerted.is_(None), c.alerted == "verify"))
            rows = tx.conn.execute(select(rating_cases).where(or_(late_verify, late_rectify))
                                   .order_by(c.id)).all()
            flagged: list[int] = []
            for r in rows:
                stage = "rectify" if r.state in RECTIFY_OPEN and r.rectify_due <= tx.ms else "verify"
                due = r.rectify_due if stage == "rectify" else r.verify_due
                level = max(1, int(r.escalation_level or 0))  # an escalated case stays escalated
                tx.conn.execute(update(rating_cases).where(c.id == r.id).values(alerted=stage, escalation_level=level))
                detail = {"stage": stage, "due": self._iso(due)}
                self._step_row(tx, r.id, "overdue", r.state, r.state, "system", detail)
                what = "核实" if stage == "verify" else "整改回复"
                tx.emit(EventType.ALERT_CASE_OVERDUE, (ALERT_TOPIC,), DataEvent({
                    "case_id": r.id, "ticket_id": r.ticket_id, "window": r.window, "stage": stage,
                    "due": self._iso(due), "state": r.state,
                    "message": f"差评案件{r.id}（{r.window}号窗口）已超过{what}期限"}))
                flagged.append(r.id)
            flagged.extend(i for i in self._escalate(tx) if i not in flagged)
        return Outcome(flagged, tuple(tx.events))

    def _escalate(self, tx: Tx) -> list[int]:
        """升级督办: a case still open for its alerted stage ``ratings.escalate_days`` working days after
        that deadline is escalated once per stage (level 2, a critical alert to supervisors, a step, audit)."""
        c = rating_cases.c
        open_for = or_(and_(c.alerted == "verify", c.state.in_(VERIFY_OPEN)),
                       and_(c.alerted == "rectify", c.state.in_(RECTIFY_OPEN)))
        rows = tx.conn.execute(select(rating_cases).where(open_for, or_(c.escalated.is_(None),
                                                                        c.escalated != c.alerted))
                               .order_by(c.id)).all()
        hall = self.config.hall
        cal = WorkCalendar(hall.holidays, hall.extra_workdays, hall.holiday_source)
        days = self.config.ratings.escalate_days
        escalated: list[int] = []
        for r in rows:
            stage = str(r.alerted)
            due = r.rectify_due if stage == "rectify" else r.verify_due
            # the missed deadline is the midnight ending its day: count from the day it ended
            last_day = dt.datetime.fromtimestamp(due / 1000, self.tz) - dt.timedelta(microseconds=1)
            point = to_ms(cal.deadline(last_day, days, self.tz))
            if tx.ms < point:
                continue
            done = tx.conn.execute(update(rating_cases).where(c.id == r.id, c.state == r.state).values(
                escalation_level=2, escalated_at=tx.ms, escalated=stage, updated_at=tx.ms))
            if done.rowcount != 1:
                continue
            detail = {"stage": stage, "due": self._iso(due), "level": 2, "escalate_days": days}
            self._step_row(tx, r.id, "escalate", r.state, r.state, "system", detail)
            what = "核实" if stage == "verify" else "整改回复"
            tx.emit(EventType.ALERT_CASE_ESCALATED, (ALERT_TOPIC,), DataEvent({
                "case_id": r.id, "ticket_id": r.ticket_id, "window": r.window, "stage": stage, "level": 2,
                "due": self._iso(due), "state": r.state,
                "message": f"差评案件{r.id}（{r.window}号窗口）超过{what}期限{days}个工作日仍未办理，已升级督办"}))
            escalated.append(r.id)
        return escalated
