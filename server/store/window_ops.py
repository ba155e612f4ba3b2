"""Window operations: open (sign in), close, pause (暂停), resume."""

from __future__ import annotations

from typing import Any

from server.errors import window_not_open
from server.queue.enums import TicketState, WindowState
from server.queue.events import EventType, WindowEvent
from server.queue.refusals import window_busy
from server.store.base import StoreBase, Tx
from server.store.views import Outcome, WindowView

BY_TICKET = {TicketState.CALLED.value: WindowState.CALLING.value, TicketState.SERVING.value: WindowState.SERVING.value}


class WindowOps(StoreBase):
    """Open, close, pause and resume windows."""

    def _working_state(self, tx: Tx, wrow: Any) -> str:
        if wrow.current_ticket_id is None:
            return WindowState.OPEN.value
        cur = self._ticket(tx.conn, wrow.current_ticket_id)
        return BY_TICKET.get(cur.state, WindowState.OPEN.value)

    def _changed(self, tx: Tx, wrow: Any) -> WindowView:
        view = self._wview(tx.conn, wrow)
        tx.emit(EventType.WINDOW_CHANGED, ("hall", f"window:{wrow.number}"), WindowEvent(view))
        return view

    def open_window(self, number: int, *, clerk: str | None = None, actor: str = "clerk") -> Outcome[WindowView]:
        """Open the window (a clerk signs in); opening a paused window resumes it."""
        with self._tx() as tx:
            wrow = self._window_row(tx.conn, number)
            values: dict[str, Any] = {"state": self._working_state(tx, wrow), "pause_reason": None}
            if clerk is not None:
                values["clerk"] = clerk
            wrow = self._set_window(tx, number, **values)
            view = self._changed(tx, wrow)
        return Outcome(view, tuple(tx.events))

    def close_window(self, number: int, *, actor: str = "clerk") -> Outcome[WindowView]:
        """Close the window; refused while it holds a ticket (finish, suspend or transfer it first)."""
        with self._tx() as tx:
            wrow = self._window_row(tx.conn, number)
            if wrow.current_ticket_id is not None:
                cur = self._ticket(tx.conn, wrow.current_ticket_id)
                raise window_busy(number, cur.number)
            if wrow.state == WindowState.CLOSED.value:
                return Outcome(self._wview(tx.conn, wrow), ())
            wrow = self._set_window(tx, number, state=WindowState.CLOSED.value, clerk=None, pause_reason=None,
                                    streak=0)
            view = self._changed(tx, wrow)
        return Outcome(view, tuple(tx.events))

    def pause_window(self, number: int, *, reason: str | None = None, actor: str = "clerk") -> Outcome[WindowView]:
        """暂停服务: no calls until resumed; a current ticket can still be finished."""
        with self._tx() as tx:
            wrow = self._window_row(tx.conn, number)
            if wrow.state == WindowState.CLOSED.value:
                raise window_not_open(number, wrow.state)
            wrow = self._set_window(tx, number, state=WindowState.PAUSED.value, pause_reason=reason)
            view = self._changed(tx, wrow)
        return Outcome(view, tuple(tx.events))

    def resume_window(self, number: int, *, actor: str = "clerk") -> Outcome[WindowView]:
        """End a pause."""
        with self._tx() as tx:
            wrow = self._window_row(tx.conn, number)
            if wrow.state == WindowState.CLOSED.value:
                raise window_not_open(number, wrow.state)
            if wrow.state != WindowState.PAUSED.value:
                return Outcome(self._wview(tx.conn, wrow), ())
            wrow = self._set_window(tx, number, state=self._working_state(tx, wrow), pause_reason=None)
            view = self._changed(tx, wrow)
        return Outcome(view, tuple(tx.events))
