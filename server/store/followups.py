"""What a window may still do with tickets it is done with: rate them and call them back.

Both are stored, so every web worker and every device host sees the same answer:

- the rating deadline (table ``rating_due``): finishing a ticket or asking for a rating lets
  the window's evaluator (评价器) rate that ticket until ``policy.rating_seconds`` later; a
  rating, or the next deadline of the window, replaces it;
- the call-back list: tickets the window marked 过号 (no-show) or 挂起 (suspended) today that
  may still be called back (within ``policy.callback_minutes`` of opening time), newest first.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select

from server.queue.enums import TicketState
from server.queue.hours import opening_seconds
from server.store.base import StoreBase, Tx
from server.store.rows import to_ms
from server.store.tables import rating_due, tickets
from server.store.views import TicketView

RATABLE = (TicketState.DONE.value,)  # rating only after 办结
CALLBACK_STATES = (TicketState.NO_SHOW.value, TicketState.SUSPENDED.value)
MAX_CALL_BACKS = 50


class FollowupOps(StoreBase):
    """The stored rating deadline and the call-back list of each window."""

    def _due_rating(self, tx: Tx, number: int, ticket_id: int) -> None:
        """Window ``number``'s evaluator may rate ``ticket_id`` from now until the policy's limit."""
        until = tx.ms + self.config.policy.rating_seconds * 1000
        tx.conn.execute(delete(rating_due).where(rating_due.c.window == number))
        tx.conn.execute(insert(rating_due), {"window": number, "ticket_id": ticket_id, "until": until})

    def _rated(self, tx: Tx, ticket_id: int) -> None:
        """A rated ticket is due nowhere any more."""
        tx.conn.execute(delete(rating_due).where(rating_due.c.ticket_id == ticket_id))

    def rating_due(self, number: int) -> TicketView | None:
        """The ticket window ``number``'s evaluator may rate now, or None (nothing due, rated, or too late)."""
        self.config.window(number)  # unknown_window
        now = to_ms(self.clock())
        with self._read() as conn:
            due = conn.execute(select(rating_due).where(rating_due.c.window == number)).first()
            if due is None or now >= due.until:
                return None
            row = conn.execute(select(tickets).where(tickets.c.id == due.ticket_id)).first()
            if row is None or row.rating is not None or row.state not in RATABLE:
                return None
            return self._view(conn, row)

    def call_backs(self, number: int) -> list[TicketView]:
        """Tickets window ``number`` set aside (过号/挂起) that it may still call back, newest first."""
        self.config.window(number)  # unknown_window
        now = self.clock()
        limit = self.config.policy.callback_minutes * 60
        since = to_ms(now) - limit * 1000  # opening time never exceeds wall time: a safe first cut
        t = tickets.c
        with self._read() as conn:
            rows = conn.execute(
                select(tickets).where(t.window == number, t.state.in_(CALLBACK_STATES),
                                      t.business_day == self.business_day(now))
                .order_by(t.state_at.desc(), t.id.desc()).limit(MAX_CALL_BACKS * 4)).all()
            # the limit counts opening time only (lunch and closed hours do not run the clock)
            keep = [r for r in rows if r.state_at >= since or opening_seconds(
                self.calendar, dt.datetime.fromtimestamp(r.state_at / 1000, dt.UTC), now) <= limit]
            return [self._view(conn, r, estimate=False) for r in keep[:MAX_CALL_BACKS]]
