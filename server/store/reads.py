"""Read-only queries: tickets, windows, the hall snapshot and the event outbox."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from server.errors import unknown_ticket
from server.queue.adapt import call_order
from server.queue.availability import service_availability
from server.queue.enums import TicketState, WindowState
from server.queue.estimate import estimate
from server.queue.hours import opening_status
from server.store.base import StoreBase
from server.store.calling import CallingOps
from server.store.rows import iso, ticket_view
from server.store.tables import counters, events, tickets, windows
from server.store.views import Event, HallSnapshot, HallStatus, IssuedTicket, ServiceStatus, TicketView, WindowView

RECENT_CALLS = 10


class ReadOps(CallingOps, StoreBase):
    """Queries (each in one read transaction)."""

    def get_ticket(self, ticket_id: int) -> TicketView:
        """A ticket with its place in the queue and estimate while waiting."""
        with self._read() as conn:
            return self._view(conn, self._ticket(conn, ticket_id))

    def get_ticket_by_token(self, token: str) -> IssuedTicket:
        """The ticket behind a status-page token (with that token); follows transfers to the newest child."""
        with self._read() as conn:
            row = conn.execute(select(tickets).where(tickets.c.token == token)).first()
            if row is None:
                raise unknown_ticket(token)
            for _ in range(20):
                if row.state != TicketState.TRANSFERRED.value:
                    break
                child = conn.execute(select(tickets).where(tickets.c.parent_id == row.id)
                                     .order_by(tickets.c.id.desc()).limit(1)).first()
                if child is None:
                    break
                row = child
            return IssuedTicket(self._view(conn, row), token)

    def waiting_for_window(self, number: int) -> list[TicketView]:
        """Tickets this window may call, in the order it would call them now (at most 200)."""
        self.config.window(number)
        with self._read() as conn:
            wrow = self._window_row(conn, number, lock=False)
            now = self.clock()
            day = self.business_day(now)
            cands = self._candidates(conn, number, day, [], heads_only=False)
            order = call_order(number, self.rules[number], cands, now.timestamp(), self.sla, self.policy,
                               wrow.streak)
            if not order:
                return []
            rows = {r.id: r for r in conn.execute(select(tickets).where(tickets.c.id.in_([c.id for c in order])))}
            return [ticket_view(rows[c.id], self.config, self.tz, ahead=i) for i, c in enumerate(order)]

    def window(self, number: int) -> WindowView:
        """A window's state and current ticket."""
        with self._read() as conn:
            return self._wview(conn, self._window_row(conn, number, lock=False))

    def current_seq(self) -> int:
        """The highest committed event seq (0 when there is none)."""
        with self._read() as conn:
            return int(conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one())

    def last_events(self, after_seq: int, limit: int = 1000) -> list[Event]:
        """Outbox events with seq > after_seq, oldest first (for catch-up and other processes)."""
        with self._read() as conn:
            rows = conn.execute(select(events).where(events.c.seq > after_seq).order_by(events.c.seq).limit(limit))
            return [Event.of(r.type, tuple(json.loads(r.topics)), json.loads(r.data), int(r.seq),
                             iso(r.at, self.tz) or "") for r in rows]

    def snapshot(self) -> HallSnapshot:
        """Hall, service queues, windows and the last calls, as of one read transaction."""
        now = self.clock()
        day = self.business_day(now)
        status = opening_status(self.calendar, now)
        next_open = status.next_open.isoformat() if status.next_open else None
        with self._read() as conn:
            seq = int(conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one())
            t = tickets.c
            waiting = {r.service: (int(r.n), r.oldest) for r in conn.execute(
                select(t.service, func.count().label("n"), func.min(t.sort_at).label("oldest"))
                .where(t.business_day == day, t.state == TicketState.ISSUED.value).group_by(t.service))}
            issued = {r.service: int(r.issued) for r in conn.execute(
                select(counters.c.service, counters.c.issued).where(counters.c.business_day == day))}
            wrows = conn.execute(select(windows).order_by(windows.c.number)).all()
            current_ids = [w.current_ticket_id for w in wrows if w.current_ticket_id is not None]
            current = {r.id: r for r in conn.execute(select(tickets).where(t.id.in_(current_ids)))} if current_ids \
                else {}
            staffed = {w.number for w in wrows if WindowState(w.state).staffed()}
            recent = conn.execute(select(tickets).where(t.business_day == day, t.called_at.is_not(None))
                                  .order_by(t.called_at.desc(), t.id.desc()).limit(RECENT_CALLS)).all()
            services = []
            counts = {code: n for code, (n, _oldest) in waiting.items()}
            for svc in self.config.services:
                n, oldest = waiting.get(svc.code, (0, None))
                today = issued.get(svc.code, 0)
                cap = self._capacity(svc.code, staffed, counts)
                avail = service_availability(
                    hall=self.calendar, service=self._service_calendar(svc.code), now=now, enabled=svc.enabled,
                    cutoff_minutes=svc.cutoff_minutes, issued_today=today, daily_limit=svc.daily_limit,
                    windows_serving=cap.primary + len(cap.secondary), unserved_issue=self.config.policy.unserved_issue)
                longest = max(0, int(now.timestamp() - oldest / 1000)) if oldest is not None else 0
                eta = estimate(n, cap, self._avg_minutes(conn, svc.code))
                services.append(ServiceStatus(
                    code=svc.code, name=svc.name, prefix=svc.prefix, category=svc.category, waiting=n,
                    longest_wait_seconds=longest, eta_minutes=eta.minutes,
                    issued_today=today, daily_limit=svc.daily_limit, available=avail.issuable, reason=avail.reason,
                    availability=avail.state, availability_zh=avail.label_zh, availability_en=avail.label_en,
                    confirm=avail.confirm, next_open=avail.next_open.isoformat() if avail.next_open else None,
                    windows_primary=cap.primary, windows_secondary=len(cap.secondary), eta_range=eta.range,
                    name_en=svc.name_en, category_en=svc.category_en))
            wviews = [self._wview(conn, w, current.get(w.current_ticket_id)) for w in wrows
                      if w.number in self.config.window_map]
            hall = HallStatus(self.config.hall.name, day, status.open, next_open)
            return HallSnapshot(hall, services, wviews,
                                [ticket_view(r, self.config, self.tz) for r in recent], seq)
