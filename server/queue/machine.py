"""The ticket state machine: one table of allowed transitions."""

from __future__ import annotations

from server.errors import invalid_transition
from server.queue.enums import Action, TicketState

S = TicketState
A = Action

# (state, action) -> new state; anything not listed is an invalid transition.
TRANSITIONS: dict[tuple[TicketState, Action], TicketState] = {
    (S.ISSUED, A.CALL): S.CALLED,
    (S.ISSUED, A.CANCEL): S.CANCELLED,
    (S.ISSUED, A.EXPIRE): S.EXPIRED,
    (S.CALLED, A.RECALL): S.CALLED,
    (S.CALLED, A.START): S.SERVING,
    (S.CALLED, A.NO_SHOW): S.NO_SHOW,
    (S.CALLED, A.SUSPEND): S.SUSPENDED,
    (S.CALLED, A.TRANSFER): S.TRANSFERRED,
    (S.CALLED, A.CANCEL): S.CANCELLED,
    (S.CALLED, A.EXPIRE): S.EXPIRED,
    (S.SERVING, A.FINISH): S.DONE,
    (S.SERVING, A.SUSPEND): S.SUSPENDED,
    (S.SERVING, A.TRANSFER): S.TRANSFERRED,
    (S.SERVING, A.EXPIRE): S.EXPIRED,
    (S.SUSPENDED, A.CALLBACK): S.CALLED,
    (S.SUSPENDED, A.CANCEL): S.CANCELLED,
    (S.SUSPENDED, A.EXPIRE): S.EXPIRED,
    (S.NO_SHOW, A.CALLBACK): S.CALLED,
}

TERMINAL: frozenset[TicketState] = frozenset({S.DONE, S.CANCELLED, S.EXPIRED, S.TRANSFERRED})


def transition(state: TicketState | str, action: Action | str) -> TicketState:
    """The state after ``action``; raises ``invalid_transition`` (409) when not allowed."""
    try:
        key = (TicketState(state), Action(action))
    except ValueError:
        raise invalid_transition(str(state), str(action)) from None
    try:
        return TRANSITIONS[key]
    except KeyError:
        raise invalid_transition(key[0].value, key[1].value) from None


def allowed(state: TicketState | str, action: Action | str) -> bool:
    """Whether ``action`` is possible in ``state``."""
    try:
        return (TicketState(state), Action(action)) in TRANSITIONS
    except ValueError:
        return False
