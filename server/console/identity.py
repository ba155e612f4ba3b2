"""An ID number typed at the counter (代取号): checked by its GB 11643 check digit, kept as keyed hash + mask."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from drivers.idcard.card import mask_number, number_problem, parse_yyyymmdd
from server.errors import HallqError
from server.queue.entities import IdentityRef


class ConsoleInputError(HallqError):
    """A console request whose ID number or reason is not acceptable (422)."""

    status = 422


def normalise(text: str) -> str:
    """Spaces dropped and a lower-case check character ``x`` raised (how clerks type them)."""
    return "".join(text.split()).upper()


def identity_of(text: str, hasher: Callable[[str], str], today: dt.date) -> IdentityRef:
    """The stored identity of a typed 18-character number; 422 ``invalid_id_number`` naming the problem.

    Only the keyed hash (per-person limits) and the masked number leave this function; the
    number itself is never stored, logged or answered.
    """
    number = normalise(text)
    problem = number_problem(number, today)
    if problem is not None:
        raise ConsoleInputError(code="invalid_id_number", problem=problem)
    return IdentityRef(hasher(number), mask_number(number), None, parse_yyyymmdd(number[6:14]))
