"""Per-person limits and the automatic elderly priority."""

from __future__ import annotations

import datetime as dt

from server.queue.entities import IdentityRef, age_on
from server.queue.enums import Priority
from server.queue.refusals import per_person_limit


def check_per_person(service: str, same_service: int, all_services: int,
                     service_limit: int | None, total_limit: int | None) -> None:
    """Refuse when the person already holds the allowed number of tickets today."""
    if service_limit is not None and same_service >= service_limit:
        raise per_person_limit(service, service_limit)
    if total_limit is not None and all_services >= total_limit:
        raise per_person_limit(None, total_limit)


def effective_priority(requested: Priority, identity: IdentityRef | None, day: dt.date,
                       elderly_age: int | None) -> Priority:
    """An elderly citizen (by ID-card birth date) gets at least the ``priority`` class."""
    if (
        elderly_age is not None
        and identity is not None
        and identity.birth_date is not None
        and requested.rank > Priority.PRIORITY.rank
        and age_on(identity.birth_date, day) >= elderly_age
    ):
        return Priority.PRIORITY
    return requested
