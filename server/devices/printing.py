"""The kiosk printing path: a ticket issued at a kiosk prints on that kiosk's printer.

Wiring into ``POST /api/tickets`` (server/api/tickets.py), after the ticket is issued::

    ticket = await hall.issue(...)
    printed, print_fault = False, None
    if body.channel == "kiosk" and body.kiosk:
        result = await request.app.state.devices.print_ticket_for(body.kiosk, ticket)
        printed, print_fault = result.printed, result.fault
    return {**ticket, "printed": printed, "print_fault": print_fault}

Printing never refuses the ticket: a faulted, offline or missing printer gives
``PrintResult(printed=False, fault=…)`` and the kiosk shows the ticket and its QR on screen.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from drivers.contract import PrintResult, TicketContent

if TYPE_CHECKING:
    from server.devices.manager import DeviceManager

log = logging.getLogger("hallq.devices.printing")

KIND = "ticket_printer"
NO_PRINTER = "no_printer"
PRINT_TIMEOUT = "timeout"
PRINT_ERROR = "print_error"
DEFAULT_TIMEOUT = 8.0


def _issued_at(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return datetime.now()


def ticket_content(manager: DeviceManager, ticket: dict[str, Any]) -> TicketContent:
    """What goes on paper for a ticket dict (``TicketView.to_dict()``)."""
    config = manager.config
    service = config.service_map.get(str(ticket.get("service", "")))
    token = ticket.get("token") or ""
    base = manager.public_base_url
    return TicketContent(
        hall_name=config.hall.name,
        service_name=str(ticket.get("service_name") or (service.name if service else ticket.get("service", ""))),
        number=str(ticket.get("number", "")),
        ahead=ticket.get("ahead"),
        eta_minutes=ticket.get("eta_minutes"),
        issued_at=_issued_at(ticket.get("issued_at")),
        qr_url=f"{base}/t/{token}" if token else "",
        notice=service.notice if service else "",
        masked_name=ticket.get("masked_name"),
    )


async def print_ticket_for(
    manager: DeviceManager, kiosk_id: str, ticket: dict[str, Any], *, timeout: float = DEFAULT_TIMEOUT
) -> PrintResult:
    """Print ``ticket`` on kiosk ``kiosk_id``'s ticket printer; never raises.

    Returns ``PrintResult(printed=True)`` or ``printed=False`` with ``fault`` one of
    ``no_printer``, ``offline``, ``paper_out``, ``cover_open``, ``protocol_error``,
    ``timeout``, ``print_error`` (or another driver fault name).
    """
    printer = manager.kiosk_device(kiosk_id, KIND)
    if printer is None:
        return PrintResult(False, NO_PRINTER, f"kiosk {kiosk_id!r} has no ticket printer")
    try:
        content = ticket_content(manager, ticket)
        result: PrintResult = await asyncio.wait_for(printer.print_ticket(content), timeout)
        return result
    except TimeoutError:
        log.warning("printing %s at kiosk %s timed out", ticket.get("number"), kiosk_id)
        return PrintResult(False, PRINT_TIMEOUT, f"no result within {timeout:g}s")
    except Exception as exc:  # a driver bug must not lose the ticket
        log.exception("printing %s at kiosk %s failed", ticket.get("number"), kiosk_id)
        return PrintResult(False, PRINT_ERROR, str(exc))
