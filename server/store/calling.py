"""Calling: call-next by the policy, call a specific ticket or call one back (回呼)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from server.errors import invalid_transition, window_not_open
from server.queue.entities import Candidate
from server.queue.enums import Action, Priority, TicketState, WindowState
from server.queue.events import EventType, TicketEvent
from server.queue.hours import opening_seconds
from server.queue.machine import transition
from server.queue.policy import choose_next
from server.queue.refusals import callback_expired, not_for_window, window_busy
from server.store.base import StoreBase, Tx
from server.store.tables import tickets
from server.store.ticket_ops import ticket_topics
from server.store.views import Outcome, TicketView

MAX_RACE_RETRIES = 20


class CallingOps(StoreBase):
    """call_next and call."""

    def _candidates(self, conn: Connection, number: int, day: str, exclude: list[int],
                    heads_only: bool = True) -> list[Candidate]:
        """Waiting tickets window ``number`` may call; only the head of each (service, class) group."""
        if heads_only:
            # the oldest ticket of each group dominates the rest of its group under every rule
            params = {"day": day, "services": [r.service for r in self.rules[number]], "w": number,
                      "exclude": exclude or [-1]}
            rows = conn.execute(self.sql.candidates, params).all()
        else:
            t = tickets.c
            services = [r.service for r in self.rules[number]]
            q = select(t.id, t.service, t.priority, t.sort_at, t.target_window).where(
                t.business_day == day, t.state == TicketState.ISSUED.value,
                or_(and_(t.service.in_(services), t.target_window.is_(None)), t.target_window == number),
            ).order_by(t.sort_at, t.id)
            rows = conn.execute(q).all()
        return [Candidate(r.id, r.service, Priority(r.priority), r.sort_at / 1000, r.target_window)
                for r in rows]

    def _ready_window(self, tx: Tx, number: int) -> Any:
        wrow = self._window_row(tx.conn, number)
        if wrow.state in (WindowState.CLOSED.value, WindowState.PAUSED.value):
            raise window_not_open(number, wrow.state)
        if wrow.current_ticket_id is not None:
            cur = self._ticket(tx.conn, wrow.current_ticket_id)
            raise window_busy(number, cur.number)
        return wrow

    def _mark_called(self, tx: Tx, number: int, row: Any, action: Action, actor: str, streak: int) -> TicketView:
        new = transition(row.state, action)
        done = self._set_ticket(tx, row.id, row.state, state=new.value, window=number, called_at=tx.ms,
                                recall_count=0)
        if done is None:
            raise _Lost
        tx.record(row.id, row.state, new.value, action.value, actor, number)
        wrow = self._set_window(tx, number, state=WindowState.CALLING.value, current_ticket_id=row.id, streak=streak)
        view = self._view(tx.conn, done)
        tx.emit(EventType.TICKET_CALLED, ticket_topics(row.id, number),
                TicketEvent(view, self._wview(tx.conn, wrow, done)))
        return view

    def call_next(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView | None]:
        """Call the ticket the policy picks for this window; None when nothing waits for it."""
        with self._tx() as tx:
            wrow = self._ready_window(tx, number)
            exclude: list[int] = []
            for _ in range(MAX_RACE_RETRIES):
                cands = self._candidates(tx.conn, number, tx.day, exclude)
                pick = choose_next(number, self.rules[number], cands, tx.ms / 1000, self.sla, self.policy,
                                   wrow.streak)
                if pick is None:
                    return Outcome(None, ())
                c = pick.candidate
                row: Any
                if self.pg:  # lock it, skipping a ticket another window is claiming right now
                    row = tx.conn.execute(self.sql.claim, {"id": c.id}).first()
                    if row is None:
                        exclude.append(c.id)
                        continue
                else:  # BEGIN IMMEDIATE already serialises writers; the conditional update checks the state
                    row = _Claim(c.id, TicketState.ISSUED.value)
                try:
                    view = self._mark_called(tx, number, row, Action.CALL, actor, pick.streak)
                except _Lost:
                    exclude.append(c.id)
                    continue
                break
            else:
                return Outcome(None, ())
        return Outcome(view, tuple(tx.events))

    def call(self, number: int, ticket_id: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """Call a specific waiting ticket, or call back a suspended/no-show one within callback_minutes."""
        with self._tx() as tx:
            wrow = self._ready_window(tx, number)
            row = self._ticket(tx.conn, ticket_id, lock=True)
            serves = row.service in {r.service for r in self.rules[number]}
            if row.state == TicketState.ISSUED.value:
                action = Action.CALL
                if row.target_window not in (None, number) or not (serves or row.target_window == number):
                    raise not_for_window(number, row.number)
            elif row.state in (TicketState.SUSPENDED.value, TicketState.NO_SHOW.value):
                action = Action.CALLBACK
                minutes = self.config.policy.callback_minutes
                # the limit counts opening time only: a ticket missed at 11:55 can be called back after lunch
                aside = dt.datetime.fromtimestamp(row.state_at / 1000, dt.UTC)
                if row.business_day != tx.day or opening_seconds(self.calendar, aside, tx.now) > minutes * 60:
                    raise callback_expired(row.id, minutes)
                if not (serves or row.window == number):
                    raise not_for_window(number, row.number)
            else:
                action = Action.CALL
                transition(row.state, action)  # raises invalid_transition
            try:
                view = self._mark_called(tx, number, row, action, actor, wrow.streak)
            except _Lost:
                row = self._ticket(tx.conn, ticket_id)
                raise invalid_transition(row.state, action.value) from None
        return Outcome(view, tuple(tx.events))


@dataclass(frozen=True, slots=True)
class _Claim:
    """The two fields _mark_called needs from a candidate row."""

    id: int
    state: str


class _Lost(Exception):
    """The conditional update found the ticket no longer in the expected state."""
