"""Removing a service that still has waiting tickets: refused with the count, or its tickets moved.

A moved ticket keeps its number and its place by original issue time (号码不变) and joins the
chosen service's queue; the move is a ``transfer`` transition of each ticket (一事一档), in
the same transaction as the new configuration version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select, update

from server.config import HallConfig
from server.config_live.changes import ConfigInvalid
from server.errors import Conflict
from server.queue.enums import TicketState
from server.store.tables import tickets

WAITING = TicketState.ISSUED.value


def removed_services(old: HallConfig, new: HallConfig) -> list[str]:
    """Codes of services in ``old`` that ``new`` no longer has or switches off (``enabled: false``).

    A disabled service takes no tickets and no window calls it, so its waiting tickets are
    stranded exactly as if it were removed: the same refusal or move applies.
    """
    gone = new.service_map
    return [code for code, svc in old.service_map.items()
            if code not in gone or (svc.enabled and not gone[code].enabled)]


def waiting_counts(conn: Connection, day: str, codes: list[str]) -> dict[str, int]:
    """Waiting tickets of today per service code (only codes with some)."""
    if not codes:
        return {}
    t = tickets.c
    q = (select(t.service, func.count()).where(t.service.in_(codes), t.business_day == day, t.state == WAITING)
         .group_by(t.service))
    return {str(code): int(n) for code, n in conn.execute(q)}


def check_targets(new: HallConfig, removed: list[str], moves: Mapping[str, str]) -> None:
    """Each move names a removed service and a service of the new configuration; 422 otherwise."""
    problems = []
    for source, target in moves.items():
        if source not in removed:
            problems.append({"path": f"on_waiting.{source}", "message": "not a service this change removes"})
        elif target not in new.service_map:
            problems.append({"path": f"on_waiting.{source}", "message": f"unknown target service {target!r}"})
        elif target in removed or not new.service_map[target].enabled:
            problems.append({"path": f"on_waiting.{source}", "message": f"target service {target!r} is disabled"})
    if problems:
        raise ConfigInvalid(problems)


def settle(tx: Any, removed: list[str], moves: Mapping[str, str], actor: str) -> dict[str, int]:
    """In the change's transaction: move waiting tickets as chosen, refuse (409) when any are left; moved counts."""
    counts = waiting_counts(tx.conn, tx.day, removed)
    left = {code: n for code, n in counts.items() if code not in moves}
    if left:
        code, n = next(iter(left.items()))
        raise Conflict(f"事项{code}仍有{n}人等候，不能删除或停用；请选择转入的事项", f"Service {code} still has {n} "
                       "waiting tickets; it cannot be removed or disabled: choose a service to move them to",
                       code="service_has_waiting", service=code, waiting=n, services=left)
    moved: dict[str, int] = {}
    t = tickets.c
    for source, target in moves.items():
        ids = list(tx.conn.execute(select(t.id).where(t.service == source, t.business_day == tx.day,
                                                      t.state == WAITING)).scalars())
        if not ids:
            continue
        tx.conn.execute(update(tickets).where(t.id.in_(ids)).values(service=target, state_at=tx.ms))
        for ticket_id in ids:
            tx.record(ticket_id, WAITING, WAITING, "transfer", actor, None)
        moved[source] = len(ids)
    return moved
