"""The store's machinery: engine, transactions, events, caches and shared helpers."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from server.config import HallConfig
from server.queue.adapt import calendar_of, call_policy_of, number_rule_of, service_calendar_of, sla_of, window_rules_of
from server.queue.enums import TicketState, WindowState
from server.queue.estimate import Capacity, Estimate, SecondaryWindow, average_minutes, estimate
from server.queue.events import EventType, Payload
from server.queue.hours import Calendar, business_day
from server.store.engine import READ, make_engine
from server.store.revisions import at_head
from server.store.rows import iso, ticket_view, to_ms, window_view
from server.store.sql import Statements
from server.store.tables import tickets, windows
from server.store.views import Event, TicketView, WindowView

DURATION_REFRESH_MS = 60_000
FLUSH_CHUNK = 256  # rows per PostgreSQL flush statement (7 parameters a transition, 4 an event)


def utc_now() -> dt.datetime:
    """The default clock."""
    return dt.datetime.now(dt.UTC)


class Tx:
    """One write transaction: its connection, its time, and the events it emitted."""

    def __init__(self, conn: Connection, now: dt.datetime, day: str, tz: Any, sql: Statements) -> None:
        self.conn = conn
        self.sql = sql
        self.now = now
        self.ms = to_ms(now)
        self.day = day
        self.tz = tz
        self.events: list[Event] = []
        self._pending: list[tuple[EventType, tuple[str, ...], Payload]] = []
        self._transitions: list[dict[str, Any]] | None = None  # PostgreSQL: written by flush()

    def emit(self, type_: EventType, topics: tuple[str, ...], payload: Payload) -> None:
        """Queue a typed event for the outbox; written (and given its seq) just before commit."""
        self._pending.append((type_, topics, payload))

    def flush(self, pg: bool) -> None:
        """Write the queued events; their row ids are the global seq."""
        if pg:
            self._flush_pg()
            return
        if not self._pending:
            return
        at = iso(self.ms, self.tz) or ""
        for type_, topics, payload in self._pending:
            data = json.dumps(payload.to_dict(), ensure_ascii=False)
            seq = self.conn.execute(
                self.sql.event, {"type": type_.value, "topics": json.dumps(topics), "data": data, "at": self.ms},
            ).scalar_one()
            self.events.append(Event(type_, topics, payload, int(seq), at))
        self._pending.clear()

    def _flush_pg(self) -> None:
        """Transitions and events in one statement that also takes the outbox lock (fewer round trips).

        seq must follow commit order (readers page by seq): the advisory lock serialises the short
        tail of every writing transaction from taking its ids to its commit; nothing locks after it.

        Everything that can run before the lock does: the payloads are serialised first, so the
        serialised tail of the transaction is one statement and COMMIT.
        """
        transitions, self._transitions = self._transitions or [], None
        if len(transitions) > FLUSH_CHUNK:  # a rollover: batched, away from the statement's parameter limit
            self.conn.execute(self.sql.transition, transitions)
            transitions = []
        pending, self._pending = self._pending, []
        if not transitions and not pending:
            return
        encoded = [(t.value, json.dumps(topics), json.dumps(p.to_dict(), ensure_ascii=False))
                   for t, topics, p in pending]
        seqs: list[int] = []
        for start in range(0, max(len(encoded), 1), FLUSH_CHUNK):  # the lock is re-entrant: order holds
            chunk = encoded[start:start + FLUSH_CHUNK]
            params: dict[str, Any] = {}
            for i, row in enumerate(transitions):
                params.update({f"t{i}_{k}": v for k, v in row.items()})
            for i, (kind, topic_list, data) in enumerate(chunk):
                params.update({f"e{i}_type": kind, f"e{i}_topics": topic_list, f"e{i}_data": data,
                               f"e{i}_at": self.ms})
            result = self.conn.execute(self.sql.pg_flush(len(transitions), len(chunk)), params)
            transitions = []
            if chunk:
                seqs += sorted(int(s) for s in result.scalars())  # taken in ``ord`` order: ascending
        at = iso(self.ms, self.tz) or ""
        for (type_, topics, payload), seq in zip(pending, seqs, strict=True):
            self.events.append(Event(type_, topics, payload, seq, at))

    def record(self, ticket_id: int, from_state: str | None, to_state: str, action: str, actor: str,
               window: int | None) -> None:
        """Keep the transition (一事一档); on PostgreSQL written with the events by flush()."""
        row = {"ticket_id": ticket_id, "from_state": from_state, "to_state": to_state, "action": action,
               "at": self.ms, "actor": actor, "window": window}
        if self.sql.deferred_transitions:
            if self._transitions is None:
                self._transitions = []
            self._transitions.append(row)
            return
        self.conn.execute(self.sql.transition, row)


class StoreBase:
    """Shared state and helpers of QueueStore."""

    def __init__(self, url: str, config: HallConfig, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.url = url
        self.config = config
        self.clock = clock or utc_now
        self.engine = make_engine(url)
        self.pg = self.engine.dialect.name == "postgresql"
        self.sql = Statements(self.pg)
        self.tz = config.hall.tz
        self.calendar = calendar_of(config.hall)
        self.rules = {w.number: window_rules_of(w) for w in config.windows}
        self.sla = sla_of(config)
        self.policy = call_policy_of(config)
        self.number_rules = {s.code: number_rule_of(s) for s in config.services}
        self._durations: dict[str, tuple[int, deque[float]]] = {}
        self._lock = threading.Lock()
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if self.pg else threading.Lock())

    def reconfigure(self, config: HallConfig) -> None:
        """Use a changed hall configuration from now on (live configuration, server/config_live/)."""
        # each attribute is replaced whole, so a reader on another thread sees the old or the new one
        self.config = config
        self.tz = config.hall.tz
        self.calendar = calendar_of(config.hall)
        self.rules = {w.number: window_rules_of(w) for w in config.windows}
        self.sla = sla_of(config)
        self.policy = call_policy_of(config)
        self.number_rules = {s.code: number_rule_of(s) for s in config.services}
        with self._lock:
            self._durations.clear()

    # -- lifecycle ---------------------------------------------------------------------

    def migrate(self) -> None:
        """Alembic upgrade head (idempotent, safe from several processes), then add window rows."""
        with self.engine.begin() as conn:
            if self.pg:
                conn.execute(text("SELECT pg_advisory_xact_lock(7311)"))
            if not at_head(conn):  # alembic (+ mako, ~9 MB) loads only to upgrade: server/store/revisions.py
                from alembic import command
                from alembic.config import Config as AlembicConfig

                cfg = AlembicConfig()
                cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            have = set(conn.execute(select(windows.c.number)).scalars())
            now = to_ms(self.clock())
            rows = [{"number": w.number, "state": WindowState.CLOSED.value, "streak": 0, "updated_at": now}
                    for w in self.config.windows if w.number not in have]
            if rows:
                conn.execute(insert(windows), rows)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    # -- transactions --------------------------------------------------------------------

    def business_day(self, now: dt.datetime | None = None) -> str:
        """Today's business day (ISO date) by the hall's clock and rollover time."""
        return business_day(now or self.clock(), self.tz, self.calendar.rollover).isoformat()

    @contextmanager
    def _tx(self) -> Iterator[Tx]:
        # SQLite has one writer at a time: queue this process's threads on a lock instead of
        # SQLite's busy handler (which sleeps up to 100 ms per retry and ruins tail latency)
        with self._write_lock:
            now = self.clock()
            with self.engine.begin() as conn:
                tx = Tx(conn, now, self.business_day(now), self.tz, self.sql)
                yield tx
                tx.flush(self.pg)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(**{READ: True}) as conn, conn.begin():
            yield conn

    # -- helpers -------------------------------------------------------------------------

    def _ticket(self, conn: Connection, ticket_id: int, lock: bool = False) -> Any:
        from server.errors import unknown_ticket

        row = conn.execute(self.sql.ticket_lock if lock else self.sql.ticket, {"id": ticket_id}).first()
        if row is None:
            raise unknown_ticket(ticket_id)
        return row

    def _window_row(self, conn: Connection, number: int, lock: bool = True) -> Any:
        self.config.window(number)  # unknown_window
        q = self.sql.window_lock if lock else self.sql.window
        row = conn.execute(q, {"n": number}).first()
        if row is None:  # configured after migrate()
            conn.execute(insert(windows), {"number": number, "state": WindowState.CLOSED.value, "streak": 0,
                                           "updated_at": to_ms(self.clock())})
            row = conn.execute(q, {"n": number}).first()
        return row

    def _set_ticket(self, tx: Tx, ticket_id: int, expect: str, **values: Any) -> Any:
        """Conditional update (``WHERE state = expect``) returning the new row, or None if it lost a race."""
        values["state_at"] = tx.ms
        stmt = self.sql.update_ticket(tuple(sorted(values)))
        return tx.conn.execute(stmt, {**values, "id": ticket_id, "expect": expect}).first()

    def _set_window(self, tx: Tx, number: int, **values: Any) -> Any:
        values["updated_at"] = tx.ms
        stmt = self.sql.update_window(tuple(sorted(values)))
        return tx.conn.execute(stmt, {**values, "n": number}).first()

    def _ahead(self, conn: Connection, row: Any) -> int:
        """Tickets of the same service ahead of this one (by class, then original issue time)."""
        params = {"service": row.service, "day": row.business_day, "rank": row.rank, "sort_at": row.sort_at,
                  "id": row.id}
        return int(conn.execute(self.sql.ahead, params).scalar_one())

    def _staffed(self, conn: Connection) -> set[int]:
        return set(conn.execute(self.sql.staffed).scalars())

    def _avg_minutes(self, conn: Connection, service: str) -> float:
        svc = self.config.service_map[service]
        samples = self.config.policy.service_time_samples
        now = to_ms(self.clock())
        with self._lock:
            cached = self._durations.get(service)
        if cached is None or now - cached[0] > DURATION_REFRESH_MS:
            t = tickets.c
            since = (dt.date.fromisoformat(self.business_day()) - dt.timedelta(days=14)).isoformat()
            q = (select(t.finished_at - t.started_at)
                 .where(t.service == service, t.business_day >= since, t.state == TicketState.DONE.value,
                        t.started_at.is_not(None))
                 .order_by(t.finished_at.desc()).limit(samples))
            values = deque(reversed([float(v) / 1000 for v in conn.execute(q).scalars()]), maxlen=samples)
            cached = (now, values)
            with self._lock:
                self._durations[service] = cached
        return average_minutes(list(cached[1]), svc.expected_minutes, samples)

    def _note_duration(self, service: str, seconds: float) -> None:
        with self._lock:
            cached = self._durations.get(service)
            if cached is not None:
                cached[1].append(seconds)

    def _waiting_by_service(self, conn: Connection) -> dict[str, int]:
        t = tickets.c
        return {r.service: int(r.n) for r in conn.execute(
            select(t.service, func.count().label("n"))
            .where(t.business_day == self.business_day(), t.state == TicketState.ISSUED.value).group_by(t.service))}

    def _capacity(self, service: str, staffed: set[int], waiting: Mapping[str, int]) -> Capacity:
        """Staffed windows serving ``service``: 主办 ones, and 兼办 ones with whether their 主办 queues have people."""
        primary, secondary = 0, []
        for number in self.config.windows_by_service.get(service, ()):
            w = self.config.window_map.get(number)
            if number not in staffed or w is None:
                continue
            mine = next(ws for ws in w.services if ws.code == service)
            if mine.role == "primary":
                primary += 1
                continue
            busy = any(waiting.get(ws.code, 0) > 0 for ws in w.services if ws.role == "primary")
            secondary.append(SecondaryWindow(mine.weight, busy))
        return Capacity(primary, tuple(secondary))

    def _eta(self, conn: Connection, service: str, ahead: int, staffed: set[int] | None = None,
             waiting: Mapping[str, int] | None = None) -> Estimate:
        staffed = self._staffed(conn) if staffed is None else staffed
        waiting = self._waiting_by_service(conn) if waiting is None else waiting
        return estimate(ahead, self._capacity(service, staffed, waiting), self._avg_minutes(conn, service))

    def _service_calendar(self, service: str) -> Calendar:
        """The service's calendar (its own hours inside the hall's, or the hall's)."""
        svc = self.config.service_map.get(service)
        return self.calendar if svc is None else service_calendar_of(self.calendar, svc)

    def _view(self, conn: Connection, row: Any, estimate: bool = True) -> TicketView:
        if estimate and row.state == TicketState.ISSUED.value:
            params = {"service": row.service, "day": row.business_day, "rank": row.rank, "sort_at": row.sort_at,
                      "id": row.id, "today": self.business_day()}
            ahead, staffed, waiting = 0, set(), {}
            for r in conn.execute(self.sql.view_counts, params):
                if r.k == "a":
                    ahead = int(r.n)
                elif r.k == "w":
                    staffed.add(int(r.name))
                else:
                    waiting[r.name] = int(r.n)
            eta = self._eta(conn, row.service, ahead, staffed, waiting)
            return ticket_view(row, self.config, self.tz, ahead, eta.minutes, eta.range)
        return ticket_view(row, self.config, self.tz)

    def _wview(self, conn: Connection, wrow: Any, current: Any = None) -> WindowView:
        if current is None and wrow.current_ticket_id is not None:
            current = self._ticket(conn, wrow.current_ticket_id)
        cur = ticket_view(current, self.config, self.tz) if current is not None else None
        return window_view(wrow, self.config, cur)
