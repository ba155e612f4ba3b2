"""The ticket state machine table."""

from __future__ import annotations

import pytest

from server.errors import Conflict
from server.queue.enums import Action, TicketState
from server.queue.machine import TERMINAL, TRANSITIONS, allowed, transition

S, A = TicketState, Action


@pytest.mark.parametrize(
    ("state", "action", "new"),
    [
        (S.ISSUED, A.CALL, S.CALLED),
        (S.CALLED, A.RECALL, S.CALLED),
        (S.CALLED, A.START, S.SERVING),
        (S.SERVING, A.FINISH, S.DONE),
        (S.CALLED, A.NO_SHOW, S.NO_SHOW),
        (S.NO_SHOW, A.CALLBACK, S.CALLED),
        (S.SERVING, A.SUSPEND, S.SUSPENDED),
        (S.SUSPENDED, A.CALLBACK, S.CALLED),
        (S.SERVING, A.TRANSFER, S.TRANSFERRED),
        (S.ISSUED, A.CANCEL, S.CANCELLED),
        (S.ISSUED, A.EXPIRE, S.EXPIRED),
    ],
)
def test_allowed_transitions(state: TicketState, action: Action, new: TicketState) -> None:
    assert transition(state, action) is new
    assert transition(state.value, action.value) is new


@pytest.mark.parametrize(
    ("state", "action"),
    [(S.ISSUED, A.FINISH), (S.DONE, A.CALL), (S.SERVING, A.RECALL), (S.CANCELLED, A.CALLBACK),
     (S.EXPIRED, A.CALL), (S.TRANSFERRED, A.FINISH), (S.NO_SHOW, A.START), (S.SERVING, A.CANCEL)],
)
def test_forbidden_transitions_raise_invalid_transition(state: TicketState, action: Action) -> None:
    with pytest.raises(Conflict) as info:
        transition(state, action)
    assert info.value.code == "invalid_transition"
    assert info.value.extra == {"state": state.value, "action": action.value}
    assert not allowed(state, action)


def test_unknown_names_are_invalid_transitions() -> None:
    with pytest.raises(Conflict):
        transition("flying", "call")
    assert not allowed("issued", "fly")


def test_terminal_states_have_no_way_out() -> None:
    assert not [key for key in TRANSITIONS if key[0] in TERMINAL]
    # every non-terminal state except no_show/suspended can still expire or be cancelled
    for state in (S.ISSUED, S.CALLED, S.SERVING, S.SUSPENDED):
        assert allowed(state, A.EXPIRE)
