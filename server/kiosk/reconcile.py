"""The fate of a tap nobody saw answered: the kiosk asks after an idle reset or 取消 abandoned it.

A tap whose answer never arrived (timeout, lost answer) and was then abandoned — the idle reset
or the citizen's 取消 on the busy screen — may still have issued a ticket. On its next home
screen the kiosk page (kiosk/static/kiosk.js ``reconcileTap``) posts the tap's idempotency key
to ``POST /api/kiosks/{id}/requests/{key}/reconcile`` and the server applies ONE rule:

- ``none``      nothing was issued under the key (refused, failed, or never arrived);
- ``pending``   the first attempt is still issuing: ask again a little later;
- ``printed``   a ticket was issued and its paper came out: it is KEPT — the person may have taken
                the paper while the screen waited (the answer was lost, not the ticket);
- ``cancelled`` a ticket was issued but no paper came out and nobody saw its number: nobody holds
                it, so it is cancelled (actor ``kiosk:<id>``, in the ticket's transitions) instead
                of being called at a window as a silent no-show;
- ``handled``   the ticket already moved on (called, served, cancelled): left as it is.

Never two tickets (the key stays bound: a replay answers the same ticket) and never a silent
lost one (either its paper exists or it is cancelled, and the answer names the number).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from server.kiosk.jobs import PrintState
from server.store.tables import kiosk_requests

if TYPE_CHECKING:
    from server.kiosk.service import KioskService
    from server.store import QueueStore

log = logging.getLogger(__name__)
Outcome = Literal["none", "pending", "printed", "cancelled", "handled"]
ISSUING = -1


def fate_of_key(store: QueueStore, kiosk: str, key: str) -> int | None:
    """None: no such key; ``ISSUING``: claimed, no ticket yet; else the bound ticket id."""
    c = kiosk_requests.c
    with store._read() as conn:
        row = conn.execute(select(c.ticket_id).where(c.kiosk == kiosk, c.key == key)).first()
    if row is None:
        return None
    return ISSUING if row.ticket_id is None else int(row.ticket_id)


async def reconcile_tap(kiosks: KioskService, kiosk: str, key: str) -> dict[str, Any]:
    """Apply the rule of the module docstring to the tap ``key`` of ``kiosk``; the outcome and its ticket."""
    kiosks.sessions.check_kiosk(kiosk)
    fate = await kiosks.hall.run(fate_of_key, kiosks.hall.store, kiosk, key)
    if fate is None:
        return {"outcome": "none", "ticket": None}
    if fate == ISSUING:
        return {"outcome": "pending", "ticket": None}
    issued, status = await kiosks.hall.run(kiosks.requests.replay, fate)
    if status.state in (PrintState.PENDING, PrintState.PRINTING):  # the paper may still come out
        status = await kiosks._wait_print(fate, status)
    ticket = issued.ticket
    brief = {"id": ticket.id, "number": ticket.number, "service": ticket.service}
    outcome: Outcome
    if ticket.state != "issued":
        outcome = "handled"
    elif status.printed:
        outcome = "printed"
    elif status.state in (PrintState.PENDING, PrintState.PRINTING):
        return {"outcome": "pending", "ticket": brief}  # still printing after the wait: decide next time
    else:
        await kiosks.hall.cancel(ticket.id, actor=f"kiosk:{kiosk}")
        outcome = "cancelled"
    log.warning("kiosk %s: abandoned tap %s → ticket %s %s", kiosk, key, ticket.number, outcome)
    return {"outcome": outcome, "ticket": brief}
