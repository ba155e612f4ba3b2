"""Ticket operations that need no window: issue, cancel, rollover (rate: server/store/ratings.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from server.config import ServiceConfig
from server.errors import HallqError, invalid_transition
from server.queue.adapt import expired_card_rule
from server.queue.entities import IdentityRef
from server.queue.enums import Action, Channel, Priority, TicketState, WindowState
from server.queue.events import EventType, TicketEvent
from server.queue.hours import check_open, closing_time, issuing_status, opening_status, past_cut_off
from server.queue.limits import check_per_person, effective_priority
from server.queue.machine import transition
from server.queue.numbering import format_number, next_number
from server.queue.refusals import (
    card_expired_for,
    no_window_serving,
    open_ticket_exists,
    outside_opening_hours,
    service_cut_off,
    service_disabled,
)
from server.store.base import StoreBase, Tx
from server.store.followups import FollowupOps
from server.store.tables import tickets, windows
from server.store.views import IssuedTicket, Outcome, TicketView, WindowView

OPEN = frozenset({TicketState.ISSUED.value, TicketState.CALLED.value, TicketState.SERVING.value,
                  TicketState.SUSPENDED.value})
EXPIRABLE = (TicketState.ISSUED.value, TicketState.CALLED.value, TicketState.SERVING.value,
             TicketState.SUSPENDED.value)


def _enum(kind: type[Any], value: str, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise HallqError(f"{field}取值无效：{value}", f"Invalid {field} {value!r}; one of {allowed}",
                         field=field) from None


def ticket_topics(ticket_id: int, window: int | None) -> tuple[str, ...]:
    """Topics of a ticket event."""
    if window is None:
        return ("hall", f"ticket:{ticket_id}")
    return ("hall", f"window:{window}", f"ticket:{ticket_id}")


class TicketOps(FollowupOps, StoreBase):
    """Issue, cancel, rate and day rollover."""

    def _counter(self, tx: Tx, service: str) -> tuple[int | None, int]:
        params = {"service": service, "day": tx.day}
        row = tx.conn.execute(self.sql.counter, params).first()
        if row is None:
            tx.conn.execute(self.sql.counter_ensure, params)
            row = tx.conn.execute(self.sql.counter, params).one()
        return row.last_number, row.issued

    def _check_person(self, tx: Tx, service: str, identity: IdentityRef) -> None:
        """Per-person limits of the day, and at most one open ticket per service."""
        t = tickets.c
        rows = tx.conn.execute(
            select(t.service, t.state, t.number, t.counted).where(
                t.key_hash == identity.key_hash, t.business_day == tx.day, t.state != TicketState.CANCELLED.value)
        ).all()
        policy = self.config.policy
        if policy.one_open_ticket_per_service:
            for r in rows:
                if r.service == service and r.state in OPEN:
                    svc = self.config.service_map[service]
                    raise open_ticket_exists(service, svc.name, r.number)
        counted = [r.service for r in rows if r.counted]  # numbers taken; transfer children are not
        check_per_person(service, counted.count(service), len(counted),
                         self.config.service_map[service].per_person_daily, policy.per_person_daily_total)

    def _check_service_now(self, tx: Tx, svc: ServiceConfig, chan: Channel) -> None:
        """The service's own hours, its cut-off before closing, and (kiosk) a staffed window serving it."""
        cal = self._service_calendar(svc.code)
        if cal is not self.calendar:
            status = issuing_status(cal, tx.now)
            if not status.open:
                raise outside_opening_hours(status.next_open.isoformat() if status.next_open else None,
                                            "service_hours")
        # staff (代取号) and appointment check-ins may still issue after the cut-off
        if svc.cutoff_minutes is not None and chan not in (Channel.STAFF, Channel.APPOINTMENT) \
                and past_cut_off(cal, tx.now, svc.cutoff_minutes):
            closing = closing_time(cal, tx.now.astimezone(self.tz).date())
            after = opening_status(cal, closing).next_open if closing is not None else None
            raise service_cut_off(svc.code, svc.name, svc.cutoff_minutes, after.isoformat() if after else None)
        if chan is Channel.KIOSK and self.config.policy.unserved_issue == "refuse":
            staffed = self._staffed(tx.conn)
            if not any(w in staffed for w in self.config.windows_by_service.get(svc.code, ())):
                raise no_window_serving(svc.code, svc.name)

    def issue(self, service: str, *, channel: str = "kiosk", priority: str = "normal",
              identity: IdentityRef | None = None, kiosk: str | None = None,
              actor: str = "system", sort_at: int | None = None,
              on_issue: Callable[[Connection, TicketView], None] | None = None) -> Outcome[IssuedTicket]:
        """Take a number: checks opening hours, limits and range; elderly get priority by birth date.

        ``on_issue(conn, view)`` runs inside the issuing transaction (the 绿色通道 audit record,
        server/console/proxy.py): if it raises, no ticket is taken.
        """
        svc = self.config.service(service)
        if not svc.enabled:
            raise service_disabled(svc.code, svc.name)
        chan = _enum(Channel, channel, "channel")
        prio = _enum(Priority, priority, "priority")
        token = secrets.token_urlsafe(12)
        with self._tx() as tx:
            check_open(self.calendar, tx.now)
            self._check_service_now(tx, svc, chan)
            last, issued = self._counter(tx, service)
            if identity is not None:
                if identity.expired and expired_card_rule(self.config, service) == "refuse":
                    raise card_expired_for(svc.code, svc.name)
                self._check_person(tx, service, identity)
                day = tx.now.astimezone(self.tz).date()
                prio = effective_priority(prio, identity, day, self.config.policy.elderly_age)
            n = next_number(self.number_rules[service], last, issued)
            values = {
                "business_day": tx.day, "service": service, "seq_no": n,
                "number": format_number(svc.prefix, n, svc.width), "state": TicketState.ISSUED.value,
                "priority": prio.value, "rank": prio.rank, "channel": chan.value,
                # an appointment check-in passes its slot start: ordered by slot time (server/appointments/)
                "sort_at": tx.ms if sort_at is None else sort_at,
                "issued_at": tx.ms, "state_at": tx.ms, "recall_count": 0, "token": token,
                "key_hash": identity.key_hash if identity else None,
                "masked_id": identity.masked_id if identity else None,
                "masked_name": identity.masked_name if identity else None, "kiosk": kiosk, "counted": 1,
                "window": None, "target_window": None, "called_at": None, "started_at": None, "finished_at": None,
                "parent_id": None, "rating": None,
            }
            if self.sql.issue_ticket is not None:  # PostgreSQL: counter and ticket in one statement
                row = tx.conn.execute(self.sql.issue_ticket, values).one()
            else:
                tx.conn.execute(self.sql.counter_set, {"n": n, "service": service, "day": tx.day})
                row = tx.conn.execute(self.sql.insert_ticket, values).one()
            tx.record(row.id, None, row.state, "issue", actor, None)
            view = self._view(tx.conn, row)
            if on_issue is not None:
                on_issue(tx.conn, view)
            tx.emit(EventType.TICKET_ISSUED, ticket_topics(row.id, None), TicketEvent(view))
        return Outcome(IssuedTicket(view, token), tuple(tx.events))

    def cancel(self, ticket_id: int, *, actor: str = "citizen") -> Outcome[TicketView]:
        """Cancel a waiting, called or suspended ticket (a window holding it becomes free)."""
        with self._tx() as tx:
            row = self._ticket(tx.conn, ticket_id)
            if row.window is not None:  # lock order everywhere: window, then ticket
                self._window_row(tx.conn, row.window)
            row = self._ticket(tx.conn, ticket_id, lock=True)
            new = transition(row.state, Action.CANCEL)
            done = self._set_ticket(tx, ticket_id, row.state, state=new.value)
            if done is None:  # cannot happen under the locks above; be explicit anyway
                raise invalid_transition(row.state, Action.CANCEL.value)
            tx.record(ticket_id, row.state, new.value, Action.CANCEL.value, actor, row.window)
            view = self._view(tx.conn, done)
            win = self._release_window(tx, ticket_id, row.window)
            tx.emit(EventType.TICKET_CANCELLED, ticket_topics(ticket_id, row.window if win else None),
                    TicketEvent(view, win))
        return Outcome(view, tuple(tx.events))

    def _release_window(self, tx: Tx, ticket_id: int, number: int | None) -> WindowView | None:
        """If window ``number`` holds this ticket, free it; returns the window's view."""
        if number is None:
            return None
        wrow = self._window_row(tx.conn, number)
        if wrow.current_ticket_id != ticket_id:
            return None
        state = WindowState.PAUSED.value if wrow.state == WindowState.PAUSED.value else WindowState.OPEN.value
        wrow = self._set_window(tx, number, current_ticket_id=None, state=state)
        return self._wview(tx.conn, wrow)

    def rollover(self) -> Outcome[int]:
        """Expire what is left of past business days (never deleted) and free their windows."""
        with self._tx() as tx:
            t = tickets.c
            if self.pg:  # lock order everywhere: windows, then tickets
                tx.conn.execute(select(windows.c.number).order_by(windows.c.number).with_for_update())
            rows = tx.conn.execute(select(tickets).where(t.business_day < tx.day, t.state.in_(EXPIRABLE))
                                   .order_by(t.id)).all()
            count = 0
            for row in rows:
                new = transition(row.state, Action.EXPIRE)
                done = self._set_ticket(tx, row.id, row.state, state=new.value)
                if done is None:
                    continue
                count += 1
                tx.record(row.id, row.state, new.value, Action.EXPIRE.value, "system", row.window)
                view = self._view(tx.conn, done, estimate=False)
                win = self._release_window(tx, row.id, row.window)
                tx.emit(EventType.TICKET_EXPIRED, ticket_topics(row.id, row.window if win else None),
                        TicketEvent(view, win))
        return Outcome(count, tuple(tx.events))
