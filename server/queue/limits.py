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


def priority_for_age(requested: Priority, age: int | None, elderly_age: int | None) -> Priority:
    """The elderly rule: a citizen of ``elderly_age`` or older (by ID card) gets at least ``priority``."""
    if elderly_age is not None and age is not None and age >= elderly_age and requested.rank > Priority.PRIORITY.rank:
        return Priority.PRIORITY
    return requested


def effective_priority(requested: Priority, identity: IdentityRef | None, day: dt.date,
                       elderly_age: int | None) -> Priority:
    """``priority_for_age`` with the age from the identity's birth date (when the queue has one)."""
    if identity is None or identity.birth_date is None:
        return requested
    return priority_for_age(requested, age_on(identity.birth_date, day), elderly_age)
