"""The database store of the queue: ``QueueStore`` over SQLAlchemy Core (SQLite or PostgreSQL).

What it does (tests: tests/server/store/, on SQLite and PostgreSQL):
- Operation groups: ticket_ops.py (issue, cancel, rollover), ratings.py (rate: once, after 办结,
  audited; a 差评 opens a case), cases.py (the 差评 ledger, its steps, the overdue sweep), calling.py (call_next,
  call), serving.py (recall, start, finish, no-show, suspend, transfer, request_rating),
  window_ops.py, followups.py (the stored rating deadline and call-back list), reads.py,
  devices.py; tables.py and migrations/ hold the schema; views.py re-exports the views of
  ``server/queue/views.py`` and adds ``Outcome`` and ``IssuedTicket``.
- Every mutation writes typed events (``server/queue/events.py``) to the ``events`` outbox in
  the same transaction; no view, event or outbox row carries a ticket token: ``issue()`` and
  ``get_ticket_by_token()`` return ``IssuedTicket(ticket, token)``.
- Behaviour worth knowing: finish() on a ticket still "called" starts and finishes it;
  close_window() refuses (window_busy) while it holds a ticket; pause keeps a current
  ticket (it can still be finished); call() also does 回呼 of suspended/no_show tickets
  within policy.callback_minutes; transfer() returns the child (same number, keeps the
  parent's issue time for ordering); get_ticket_by_token follows transfers to the child.
  HallSnapshot has ``seq`` (last event seq included); ``current_seq()`` gives the
  highest committed event seq. ``store.engine`` is the SQLAlchemy engine (SQLite: every
  transaction on it starts with BEGIN IMMEDIATE unless run with execution option
  ``hallq_read=True``).
- Performance: hot statements are prepared text (sql.py); SQLite writers of one process
  queue on a threading.Lock (no busy-handler sleeps); readers never wait (WAL).

Usage::

    store = QueueStore("sqlite:///var/hallq.db", load_config("config/demo.yaml"))
    store.migrate()                       # once at start-up, idempotent
    out = store.issue("general")          # Outcome[IssuedTicket]; publish out.events after
"""

from server.queue.entities import IdentityRef
from server.store.store import QueueStore
from server.store.views import (
    Event,
    HallSnapshot,
    HallStatus,
    IssuedTicket,
    Outcome,
    ServiceStatus,
    TicketView,
    WindowView,
)

__all__ = [
    "Event",
    "HallSnapshot",
    "HallStatus",
    "IdentityRef",
    "IssuedTicket",
    "Outcome",
    "QueueStore",
    "ServiceStatus",
    "TicketView",
    "WindowView",
]
