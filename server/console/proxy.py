"""代取号 / 帮代办 and 绿色通道 at the counter: a clerk issues a ticket on a citizen's behalf.

One path for both: the ticket is issued on channel ``staff`` (reports count it as 代办), with
the class the clerk chose; the reason comes from the configured list (``console.proxy_reasons``,
for 绿色通道 ``console.green_reasons``); an audit record names the reason and the grantor
(the signed-in staff account); a typed ID number is checked and kept only as keyed hash +
mask (server/console/identity.py), or the card on a counter reader is read like at a kiosk
(its stored card session, ``card_at``); the ticket prints on the chosen kiosk's or desk's printer
through the kiosk print-job path (``KioskService.print``, server/kiosk/service.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.console.identity import ConsoleInputError, identity_of
from server.errors import NotFound
from server.kiosk.service import KioskService, _issued
from server.queue.enums import Channel, Priority

if TYPE_CHECKING:
    from server.auth.roles import Principal
    from server.config import ConsoleReason, HallConfig
    from server.services import Services

PROXY_CHANNEL = Channel.STAFF.value  # every ticket a clerk takes for someone is 代办 in the reports
PROXY_ACTION = "console.proxy_issue"
GREEN_ACTION = "console.green_grant"


@dataclass(frozen=True, slots=True)
class ProxyRequest:
    """What the clerk chose in the 代取号 dialog."""

    service: str
    reason: str
    priority: str = Priority.NORMAL.value
    id_number: str | None = None
    note: str | None = None
    print_at: str | None = None  # a kiosk id (a desk printer is configured as a kiosk's ticket printer)
    card_at: str | None = None  # a kiosk/desk id whose ID-card reader holds the citizen's card (counter reader)


def reasons_for(config: HallConfig, priority: str) -> list[ConsoleReason]:
    """The reason list that applies: 绿色通道 reasons for green, else the 代取号 reasons."""
    return list(config.console.green_reasons if priority == Priority.GREEN.value else config.console.proxy_reasons)


def check_reason(config: HallConfig, priority: str, code: str) -> ConsoleReason:
    """The configured reason with this code; 422 ``unknown_console_reason`` otherwise."""
    for reason in reasons_for(config, priority):
        if reason.code == code:
            return reason
    raise ConsoleInputError(code="unknown_console_reason", reason=code,
                            allowed=[r.code for r in reasons_for(config, priority)])


async def issue_on_behalf(services: Services, principal: Principal, req: ProxyRequest,
                          audit: Any) -> dict[str, Any]:
    """Issue, audit and print one ticket on a citizen's behalf; the issue answer plus ``print`` and ``reason``.

    ``audit(conn, action, target, detail)`` appends the audit record inside the issuing transaction
    (``on_issue`` of ``QueueStore.issue``). Refusals of the queue (limits, hours, unknown service)
    roll back the record with the ticket.
    """
    config = services.config
    reason = check_reason(config, req.priority, req.reason)
    config.service(req.service)  # unknown_service before anything else
    if req.print_at is not None and req.print_at not in {k.id for k in config.kiosks}:
        raise NotFound(code="unknown_kiosk", kiosk=req.print_at)
    if req.print_at is not None and not services.kiosks.printers(req.print_at):
        raise ConsoleInputError(code="no_print_target", kiosk=req.print_at)
    identity, session, priority = None, None, req.priority
    if req.card_at is not None:  # the card on the counter's reader: its stored session, as at a kiosk
        sessions = services.kiosks.sessions
        sessions.check_kiosk(req.card_at)
        session = await sessions.session(req.card_at)
        if session is None:
            raise NotFound(code="no_session", kiosk=req.card_at)
        identity = KioskService._identity(session)
        if priority == Priority.NORMAL.value:
            priority = sessions.priority(session).value  # the elderly rule of the card's age
    elif req.id_number:
        today = services.store.clock().astimezone(config.hall.tz).date()
        identity = identity_of(req.id_number, services.kiosks.sessions.hasher, today)
    hall = services.hall
    action = GREEN_ACTION if req.priority == Priority.GREEN.value else PROXY_ACTION

    def audited(conn: Any, ticket: Any) -> None:  # in the issuing transaction: no ticket without its record
        # the class as issued: an ID number of an elderly citizen may raise a normal request to priority
        detail = {"number": ticket.number, "service": ticket.service, "priority": ticket.priority,
                  "requested_priority": req.priority, "channel": PROXY_CHANNEL,
                  "reason": reason.code, "reason_zh": reason.zh, "note": (req.note or "")[:60] or None,
                  "grantor": principal.actor, "grantor_name": principal.name or principal.subject,
                  "masked_id": ticket.masked_id, "print_at": req.print_at, "card_at": req.card_at}
        audit(conn, action, f"ticket:{ticket.id}", detail)

    issued = _issued(await hall.issue(req.service, channel=PROXY_CHANNEL, priority=priority,
                                      identity=identity, actor=principal.actor, on_issue=audited))
    if session is not None:
        await services.kiosks.sessions.after_ticket(session)
    ticket = issued.ticket
    printed = (await services.kiosks.print(req.print_at, ticket.id)).to_dict() if req.print_at else None
    return {**issued.to_dict(), "print": printed, "reason": reason.model_dump()}


def green_audit(principal: Principal, reason: ConsoleReason, channel: str, audit: Any) -> Any:
    """The ``on_issue`` hook of a 绿色通道 ticket taken on the plain route (``POST /api/tickets``).

    ``audit(conn, action, target, detail)`` writes into the issuing transaction, so a green
    ticket never exists without the record naming its reason and grantor.
    """

    def audited(conn: Any, ticket: Any) -> None:
        detail = {"number": ticket.number, "service": ticket.service, "priority": ticket.priority,
                  "requested_priority": Priority.GREEN.value, "channel": channel,
                  "reason": reason.code, "reason_zh": reason.zh, "note": None,
                  "grantor": principal.actor, "grantor_name": principal.name or principal.subject,
                  "masked_id": ticket.masked_id, "print_at": None, "card_at": None, "route": "/api/tickets"}
        audit(conn, GREEN_ACTION, f"ticket:{ticket.id}", detail)

    return audited
