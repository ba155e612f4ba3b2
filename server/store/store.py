"""QueueStore: the database-backed queue, assembled from its operation groups."""

from __future__ import annotations

from server.store.calling import CallingOps
from server.store.cases import CaseOps
from server.store.devices import DeviceOps
from server.store.followups import FollowupOps
from server.store.ratings import RatingOps
from server.store.reads import ReadOps
from server.store.serving import ServingOps
from server.store.ticket_ops import TicketOps
from server.store.window_ops import WindowOps


class QueueStore(RatingOps, CaseOps, ReadOps, CallingOps, ServingOps, TicketOps, WindowOps, DeviceOps,
                 FollowupOps):
    """Sync store: one short transaction per method, safe across threads and processes.

    ``QueueStore(url, config, clock=None)``; call ``migrate()`` once at start-up. Every
    mutation returns ``Outcome(value, events)``; publish the events after it returns.
    Refusals raise ``server.errors.HallqError`` subclasses with stable codes.
    """
