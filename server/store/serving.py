"""What a window does with its current ticket: recall, start, finish, no-show, suspend, transfer."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select

from server.errors import Conflict
from server.queue.enums import Action, TicketState, WindowState
from server.queue.events import EventType, RatingRequest, TicketEvent
from server.queue.machine import transition
from server.queue.refusals import already_rated, invalid_request, not_ratable, nothing_to_recall
from server.store.base import StoreBase, Tx
from server.store.followups import FollowupOps
from server.store.tables import tickets
from server.store.ticket_ops import ticket_topics
from server.store.views import Outcome, TicketView

HOLDING = {TicketState.CALLED.value: WindowState.CALLING.value, TicketState.SERVING.value: WindowState.SERVING.value}


def _race() -> Conflict:
    return Conflict("号票状态已被其他操作改变，请刷新", "The ticket changed concurrently; refresh",
                    code="invalid_transition")


class ServingOps(FollowupOps, StoreBase):
    """Operations on a window's current ticket."""

    def _current(self, tx: Tx, number: int) -> tuple[Any, Any]:
        wrow = self._window_row(tx.conn, number)
        if wrow.current_ticket_id is None:
            raise nothing_to_recall(number)
        return wrow, self._ticket(tx.conn, wrow.current_ticket_id, lock=True)

    def _step(self, tx: Tx, number: int, wrow: Any, row: Any, actions: tuple[Action, ...], actor: str,
              event: EventType, values: Callable[[Any], dict[str, Any]] | None = None,
              child: TicketView | None = None, more_topics: tuple[str, ...] = ()) -> tuple[Any, TicketView]:
        """Apply actions to the window's current ticket, keep the window in step, emit one event."""
        state = row.state
        for action in actions:
            new = transition(state, action)
            tx.record(row.id, state, new.value, action.value, actor, number)
            state = new.value
        done = self._set_ticket(tx, row.id, row.state, state=state, **(values(row) if values else {}))
        if done is None:
            raise _race()
        holding = HOLDING.get(state)
        wstate = WindowState.PAUSED.value if wrow.state == WindowState.PAUSED.value else (
            holding or WindowState.OPEN.value)
        wrow = self._set_window(tx, number, state=wstate, current_ticket_id=row.id if holding else None)
        view = self._view(tx.conn, done)
        payload = TicketEvent(view, self._wview(tx.conn, wrow, done if holding else None), child)
        tx.emit(event, ticket_topics(row.id, number) + more_topics, payload)
        return done, view

    def recall(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """Call the current ticket again; past max_recalls it becomes a no-show."""
        with self._tx() as tx:
            wrow, row = self._current(tx, number)
            if row.state == TicketState.CALLED.value and row.recall_count >= self.config.policy.max_recalls:
                _, view = self._step(tx, number, wrow, row, (Action.NO_SHOW,), actor, EventType.TICKET_NO_SHOW)
            else:
                _, view = self._step(tx, number, wrow, row, (Action.RECALL,), actor, EventType.TICKET_RECALLED,
                                     lambda r: {"recall_count": r.recall_count + 1})
        return Outcome(view, tuple(tx.events))

    def start(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """The citizen arrived at the window: service starts."""
        with self._tx() as tx:
            wrow, row = self._current(tx, number)
            _, view = self._step(tx, number, wrow, row, (Action.START,), actor, EventType.TICKET_STARTED,
                                 lambda r: {"started_at": tx.ms})
        return Outcome(view, tuple(tx.events))

    def finish(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """Service done; a ticket still 'called' is started and finished at once (keypads skip start)."""
        with self._tx() as tx:
            wrow, row = self._current(tx, number)
            actions = (Action.START, Action.FINISH) if row.state == TicketState.CALLED.value else (Action.FINISH,)
            started = row.started_at if row.started_at is not None else tx.ms
            done, view = self._step(tx, number, wrow, row, actions, actor, EventType.TICKET_FINISHED,
                                    lambda r: {"started_at": started, "finished_at": tx.ms})
            self._due_rating(tx, number, row.id)
        self._note_duration(done.service, (tx.ms - started) / 1000)
        return Outcome(view, tuple(tx.events))

    def no_show(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """过号: the citizen did not come; can be called back within callback_minutes."""
        with self._tx() as tx:
            wrow, row = self._current(tx, number)
            _, view = self._step(tx, number, wrow, row, (Action.NO_SHOW,), actor, EventType.TICKET_NO_SHOW)
        return Outcome(view, tuple(tx.events))

    def suspend(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """挂起: set the ticket aside (e.g. fetching a document); call it back later."""
        with self._tx() as tx:
            wrow, row = self._current(tx, number)
            _, view = self._step(tx, number, wrow, row, (Action.SUSPEND,), actor, EventType.TICKET_SUSPENDED)
        return Outcome(view, tuple(tx.events))

    def transfer(self, number: int, *, to_service: str | None = None, to_window: int | None = None,
                 actor: str = "clerk") -> Outcome[TicketView]:
        """转办: close the current ticket as transferred and queue a child that keeps its number and issue time."""
        if to_service is None and to_window is None:
            raise invalid_request("请指定转往的业务或窗口", "Give to_service or to_window")
        if to_service is not None:
            self.config.service(to_service)
        if to_window is not None:
            self.config.window(to_window)
        with self._tx() as tx:
            wrow, row = self._current(tx, number)
            values = {c.name: getattr(row, c.name) for c in tickets.c if c.name != "id"}
            values.update(
                service=to_service or row.service, state=TicketState.ISSUED.value, window=None,
                target_window=to_window, called_at=None, started_at=None, finished_at=None, state_at=tx.ms,
                issued_at=tx.ms, recall_count=0, token=secrets.token_urlsafe(12), parent_id=row.id, rating=None,
                business_day=tx.day, counted=0,
            )
            child = tx.conn.execute(insert(tickets).returning(*tickets.c), values).one()
            tx.record(child.id, None, child.state, "issue", actor, number)
            child_view = self._view(tx.conn, child)
            self._step(tx, number, wrow, row, (Action.TRANSFER,), actor, EventType.TICKET_TRANSFERRED,
                       child=child_view, more_topics=(f"ticket:{child.id}",))
        return Outcome(child_view, tuple(tx.events))

    def request_rating(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """Ask the citizen to rate the window's last finished (办结) ticket today; a current ticket is 409."""
        with self._tx() as tx:
            wrow = self._window_row(tx.conn, number)
            if wrow.current_ticket_id is not None:  # rating only after 办结 (server/store/ratings.py)
                row = self._ticket(tx.conn, wrow.current_ticket_id)
                raise not_ratable(row.id, row.state)
            else:
                t = tickets.c
                row = tx.conn.execute(select(tickets).where(
                    t.window == number, t.business_day == tx.day, t.state == TicketState.DONE.value)
                    .order_by(t.finished_at.desc(), t.id.desc()).limit(1)).first()
                if row is None:
                    raise Conflict("该窗口没有可评价的号票", f"Window {number} has no ticket to rate",
                                   code="not_ratable", window=number)
            if row.rating is not None:
                raise already_rated(row.id)
            if row.state != TicketState.DONE.value:
                raise not_ratable(row.id, row.state)
            view = self._view(tx.conn, row)
            self._due_rating(tx, number, row.id)
            tx.emit(EventType.RATING_REQUESTED, (f"window:{number}", f"ticket:{row.id}"), RatingRequest(view, number))
        return Outcome(view, tuple(tx.events))
