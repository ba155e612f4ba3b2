"""好差评 in the store: one rating per ticket after 办结, its audit record, and the 差评 case it opens.

``rate`` is the only way a rating is stored, whatever the channel (evaluator, window screen,
the citizen's phone page, the ticket's QR): the ticket row is locked, so the first rating wins
and every later one is 409 ``already_rated``. Only a finished (DONE, 办结) ticket is ratable;
a called or serving one is 409 ``not_ratable`` (the keypad beeps), unknown 404.

The record (table ``ratings``, key ``ticket_id``, stable 评价编号 ``uid``): ticket, window,
clerk (the account signed in at the window), channel (``source``), level, reason codes, free
text, the case it opened, the time. Every rating also writes an ``audit_log`` row
(``evaluation.recorded``, target ``ticket:<id>``) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update

from server.auth.tables import audit_log
from server.queue.enums import RATING_LEVELS, Rating, TicketState
from server.queue.events import EventType, RatingEvent, RatingInfo
from server.queue.refusals import already_rated, invalid_rating, not_ratable
from server.ratings import reasons as rating_reasons
from server.ratings.calendar import WorkCalendar
from server.ratings.cases import CaseState
from server.store.base import Tx
from server.store.followups import FollowupOps
from server.store.rows import to_ms
from server.store.tables import case_steps, rating_cases, ratings, tickets, windows
from server.store.ticket_ops import ticket_topics
from server.store.views import Outcome, TicketView


def audit(tx: Tx, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
    """One append-only audit_log row in the caller's transaction (role: the actor's prefix)."""
    role = actor.split(":", 1)[0] if ":" in actor else actor
    tx.conn.execute(insert(audit_log), {"at": tx.ms, "actor": actor[:80], "role": role[:16], "ip": None,
                                        "action": action, "target": target,
                                        "detail": json.dumps(detail, ensure_ascii=False)})


class RatingOps(FollowupOps):
    """Store ratings (一次一评, after 办结) and open a case for every 差评."""

    def work_calendar(self) -> WorkCalendar:
        """The hall's working days: its holidays and 调休 list over the mainland calendar."""
        hall = self.config.hall
        return WorkCalendar(hall.holidays, hall.extra_workdays, hall.holiday_source)

    def rate(self, ticket_id: int, level: int, *, source: str = "api", actor: str = "citizen",
             reasons: Sequence[str] = (), text: str | None = None) -> Outcome[TicketView]:
        """好差评 of a finished ticket, once; 1 and 2 (差评) need reasons where configured and open a case."""
        if not isinstance(level, int) or isinstance(level, bool) or level not in RATING_LEVELS:
            raise invalid_rating(level)
        codes, body = rating_reasons.check(self.config, level, reasons, text, source=source)
        with self._tx() as tx:
            row = self._ticket(tx.conn, ticket_id, lock=True)
            if row.rating is not None:
                raise already_rated(ticket_id)
            if row.state != TicketState.DONE.value:
                raise not_ratable(ticket_id, row.state)
            clerk = None
            if row.window is not None:
                clerk = tx.conn.execute(select(windows.c.clerk).where(windows.c.number == row.window)).scalar()
            uid = str(uuid.uuid4())
            bad = Rating(level).is_bad()
            case_id = self._open_case(tx, row, uid, level, clerk, actor) if bad else None
            tx.conn.execute(insert(ratings), {
                "ticket_id": ticket_id, "level": level, "source": source, "at": tx.ms, "actor": actor,
                "window": row.window, "clerk": clerk, "service": row.service, "business_day": row.business_day,
                "uid": uid, "reasons": json.dumps(codes) if codes else None, "text": body, "case_id": case_id})
            new = tx.conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(rating=level)
                                  .returning(*tickets.c)).one()
            self._rated(tx, ticket_id)
            tx.record(ticket_id, row.state, row.state, "rate", actor, row.window)
            audit(tx, actor, "evaluation.recorded", f"ticket:{ticket_id}", {
                "uid": uid, "ticket_id": ticket_id, "number": row.number, "window": row.window, "clerk": clerk,
                "channel": source, "level": level, "reasons": codes, "text_length": len(body or ""),
                "case_id": case_id})
            view = self._view(tx.conn, new)
            info = RatingInfo(level, RATING_LEVELS[level], bad, source, uid, tuple(codes), case_id)
            tx.emit(EventType.TICKET_RATED, ticket_topics(ticket_id, row.window), RatingEvent(view, info))
        return Outcome(view, tuple(tx.events))

    def _open_case(self, tx: Tx, row: Any, uid: str, level: int, clerk: str | None, actor: str) -> int:
        """A 差评 case in 待核实 with its working-day deadlines; its first step and audit row."""
        cal, policy = self.work_calendar(), self.config.ratings
        verify_due = to_ms(cal.deadline(tx.now, policy.verify_days, self.tz))
        rectify_due = to_ms(cal.deadline(tx.now, policy.rectify_days, self.tz))
        case_id = int(tx.conn.execute(insert(rating_cases).returning(rating_cases.c.id), {
            "ticket_id": row.id, "rating_uid": uid, "state": CaseState.PENDING.value, "level": level,
            "window": row.window, "clerk": clerk, "service": row.service, "business_day": row.business_day,
            "opened_at": tx.ms, "verify_due": verify_due, "rectify_due": rectify_due, "updated_at": tx.ms,
        }).scalar_one())
        detail = {"ticket_id": row.id, "rating_uid": uid, "level": level, "verify_due": verify_due,
                  "rectify_due": rectify_due}
        tx.conn.execute(insert(case_steps), {"case_id": case_id, "action": "open", "from_state": None,
                                             "to_state": CaseState.PENDING.value, "actor": actor[:80], "at": tx.ms,
                                             "detail": json.dumps(detail)})
        audit(tx, actor, "case.open", f"case:{case_id}", detail)
        return case_id

    def rating_record(self, ticket_id: int) -> dict[str, Any] | None:
        """The stored rating of a ticket (staff view: with reasons and text), or None."""
        with self._read() as conn:
            r = conn.execute(select(ratings).where(ratings.c.ticket_id == ticket_id)).first()
            if r is None:
                return None
            return {"uid": r.uid, "ticket_id": r.ticket_id, "level": r.level, "channel": r.source,
                    "window": r.window, "clerk": r.clerk, "service": r.service, "business_day": r.business_day,
                    "reasons": json.loads(r.reasons) if r.reasons else [], "text": r.text, "case_id": r.case_id,
                    "at": dt.datetime.fromtimestamp(r.at / 1000, self.tz).isoformat(timespec="seconds")}
