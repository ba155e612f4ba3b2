"""Hot-path statements as prepared text (portable SQLite/PostgreSQL SQL).

Building SQLAlchemy expressions costs more than running these small statements on
SQLite, so the per-operation statements are built once here. ``"window"`` is quoted:
it is a reserved word in PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Executable, TextClause, bindparam, text

from server.store.tables import tickets, windows

TICKET_INSERT_COLUMNS = tuple(c.name for c in tickets.c if c.name != "id")


def _t(stmt: TextClause) -> Executable:
    # declaring the result columns lets SQLAlchemy cache the result metadata
    return stmt.columns(*(c._copy() for c in tickets.c))


def _w(stmt: TextClause) -> Executable:
    return stmt.columns(*(c._copy() for c in windows.c))


def q(name: str) -> str:
    """Quote a column name."""
    return f'"{name}"'


class Statements:
    """The statements of one dialect (PostgreSQL adds row locks)."""

    def __init__(self, pg: bool) -> None:
        lock = " FOR UPDATE" if pg else ""
        self.deferred_transitions = pg  # Tx.record queues them for the single flush statement
        self.ticket = _t(text("SELECT * FROM tickets WHERE id = :id"))
        self.ticket_lock = _t(text("SELECT * FROM tickets WHERE id = :id" + lock))
        self.window = _w(text("SELECT * FROM windows WHERE number = :n"))
        self.window_lock = _w(text("SELECT * FROM windows WHERE number = :n" + lock))
        # SKIP LOCKED: a ticket another window is claiming right now is skipped, not waited for
        self.claim = _t(text("SELECT * FROM tickets WHERE id = :id AND state = 'issued'"
                             + (" FOR UPDATE SKIP LOCKED" if pg else "")))
        self.outbox_lock = text("SELECT pg_advisory_xact_lock(7312)")
        self.event = text("INSERT INTO events (type, topics, data, at) VALUES (:type, :topics, :data, :at) "
                          "RETURNING seq")
        self.transition = text('INSERT INTO transitions (ticket_id, from_state, to_state, action, at, actor, "window") '
                               "VALUES (:ticket_id, :from_state, :to_state, :action, :at, :actor, :window)")
        self.ahead = text(
            "SELECT count(*) FROM tickets WHERE service = :service AND business_day = :day AND state = 'issued' "
            "AND (rank < :rank OR (rank = :rank AND (sort_at < :sort_at OR (sort_at = :sort_at AND id < :id))))")
        self.staffed = text("SELECT number FROM windows WHERE state IN ('open', 'calling', 'serving')")
        # a waiting ticket's view in one round trip: tickets ahead ('a'), staffed windows ('w'),
        # waiting per service today ('s') — what base.StoreBase._view otherwise asks in three
        self.view_counts = text(
            "SELECT 'a' AS k, NULL AS name, count(*) AS n FROM tickets WHERE service = :service "
            "AND business_day = :day AND state = 'issued' "
            "AND (rank < :rank OR (rank = :rank AND (sort_at < :sort_at OR (sort_at = :sort_at AND id < :id)))) "
            "UNION ALL SELECT 'w', CAST(number AS VARCHAR), 0 FROM windows "
            "WHERE state IN ('open', 'calling', 'serving') "
            "UNION ALL SELECT 's', service, count(*) FROM tickets WHERE business_day = :today AND state = 'issued' "
            "GROUP BY service")
        self.counter_ensure = text("INSERT INTO counters (service, business_day, last_number, issued) "
                                   "VALUES (:service, :day, NULL, 0) ON CONFLICT DO NOTHING")
        self.counter = text("SELECT last_number, issued FROM counters WHERE service = :service "
                            "AND business_day = :day" + lock)
        self.counter_set = text("UPDATE counters SET last_number = :n, issued = issued + 1 "
                                "WHERE service = :service AND business_day = :day")
        cols = ", ".join(q(c) for c in TICKET_INSERT_COLUMNS)
        params = ", ".join(f":{c}" for c in TICKET_INSERT_COLUMNS)
        self.insert_ticket = _t(text(f"INSERT INTO tickets ({cols}) VALUES ({params}) RETURNING *"))
        # PostgreSQL: the counter bump rides on the ticket's insert (one round trip, not two); the
        # counter row is already locked by ``counter`` (FOR UPDATE). SQLite has no DML in WITH.
        self.issue_ticket: Executable | None = _t(text(
            "WITH c AS (UPDATE counters SET last_number = :seq_no, issued = issued + 1 "
            "WHERE service = :service AND business_day = :business_day) "
            f"INSERT INTO tickets ({cols}) VALUES ({params}) RETURNING *")) if pg else None
        # the head (oldest) ticket of each (service, class, target window) group
        self.candidates = text(
            "SELECT id, service, priority, sort_at, target_window FROM ("
            " SELECT id, service, priority, sort_at, target_window, ROW_NUMBER() OVER ("
            "  PARTITION BY service, priority, target_window ORDER BY sort_at, id) AS rn"
            " FROM tickets WHERE business_day = :day AND state = 'issued'"
            " AND ((service IN :services AND target_window IS NULL) OR target_window = :w)"
            " AND id NOT IN :exclude) AS heads WHERE rn = 1"
        ).bindparams(bindparam("services", expanding=True), bindparam("exclude", expanding=True))
        self._updates: dict[tuple[str, tuple[str, ...]], Executable] = {}
        self._flushes: dict[tuple[int, int], TextClause] = {}

    def update_ticket(self, keys: tuple[str, ...]) -> Executable:
        """``UPDATE tickets SET … WHERE id = :id AND state = :expect RETURNING *`` for these columns."""
        key = ("t", keys)
        stmt = self._updates.get(key)
        if stmt is None:
            sets = ", ".join(f"{q(k)} = :{k}" for k in keys)
            stmt = _t(text(f"UPDATE tickets SET {sets} WHERE id = :id AND state = :expect RETURNING *"))
            self._updates[key] = stmt
        return stmt

    def pg_flush(self, n_transitions: int, n_events: int) -> TextClause:
        """PostgreSQL: a transaction's transitions and events in ONE statement, the outbox lock inside it.

        The advisory lock (seq follows commit order) is taken by the same statement that takes
        the seqs, so the serialised tail of a transaction is this one round trip plus COMMIT.
        Parameters: ``t<i>_<column>`` per transition, ``e<i>_<column>`` per event.
        """
        key = (n_transitions, n_events)
        stmt = self._flushes.get(key)
        if stmt is None:
            tr = ", ".join(
                f"(CAST(:t{i}_ticket_id AS BIGINT), CAST(:t{i}_from_state AS VARCHAR), "
                f"CAST(:t{i}_to_state AS VARCHAR), CAST(:t{i}_action AS VARCHAR), CAST(:t{i}_at AS BIGINT), "
                f"CAST(:t{i}_actor AS VARCHAR), "
                f"CAST(:t{i}_window AS INTEGER))" for i in range(n_transitions))
            insert_tr = ('INSERT INTO transitions (ticket_id, from_state, to_state, action, at, actor, "window") '
                         f"VALUES {tr}")
            if n_events == 0:
                stmt = text(insert_tr)
            else:
                ev = ", ".join(f"(CAST(:e{i}_type AS VARCHAR), CAST(:e{i}_topics AS TEXT), CAST(:e{i}_data AS TEXT), "
                               f"CAST(:e{i}_at AS BIGINT), {i})" for i in range(n_events))
                insert_ev = ("INSERT INTO events (type, topics, data, at) SELECT v.type, v.topics, v.data, v.at "
                             "FROM (SELECT pg_advisory_xact_lock(7312)) AS l, "
                             f"(VALUES {ev}) AS v(type, topics, data, at, ord) ORDER BY v.ord RETURNING seq")
                stmt = text(f"WITH tr AS ({insert_tr}) {insert_ev}" if n_transitions else insert_ev)
            self._flushes[key] = stmt
        return stmt

    def update_window(self, keys: tuple[str, ...]) -> Executable:
        """``UPDATE windows SET … WHERE number = :n RETURNING *`` for these columns."""
        key = ("w", keys)
        stmt = self._updates.get(key)
        if stmt is None:
            sets = ", ".join(f"{q(k)} = :{k}" for k in keys)
            stmt = _w(text(f"UPDATE windows SET {sets} WHERE number = :n RETURNING *"))
            self._updates[key] = stmt
        return stmt
