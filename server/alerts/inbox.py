"""The alert inbox service: turns hub events into stored alerts and pushes every change to supervisors.

Sources (a hub handler, so it sees both in-process and remote device hosts' events):

- ``ticket.rated`` with a 差评 (levels 1–2) → ``bad_rating`` on ``ticket:<id>`` (once);
- the camera's ``alert.bad_rating`` for the same ticket → the same alert, its snapshot as evidence;
- ``alert.clerk_absent`` → ``clerk_absent`` on ``window:<n>``; resolved by ``system`` when inactive;
- ``alert.crowding`` → ``crowding`` on ``camera:<id>``; resolved when inactive;
- ``alert.case_overdue`` (a 差评 case past a deadline, server/store/cases.py) → ``case_overdue`` on ``case:<id>``.
- ``alert.case_escalated`` (still overdue ``ratings.escalate_days`` working days later) → ``case_escalated``
  (critical) on ``case:<id>``.

Every change is published as ``alert.raised`` (or ``alert.cleared`` once resolved) on topic
``alerts`` with ``{"alert": …, "inbox": true}``; events marked ``inbox`` are never re-read.
With ``commit`` (``server/alerts/wiring.py``) these events go through the store's outbox like queue
events, so every worker's hub publishes them from the event log and each ``/supervisor`` sees a raise,
a count bump, an acknowledgement or a resolution live, whichever worker made it.
A rule's alert that turned active is also published as ``window.notice`` on ``window:<n>`` of the
windows it concerns (``Finding.notify``, when ``supervision.notify_windows``; staff only, so the
public window screen never gets it), and the clerk console shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.alerts.rules import RuleSettings, Waiting, WindowNow, evaluate
from server.alerts.store import Alert, AlertStore
from server.config import HallConfig
from server.hall.hub import Hub
from server.queue.events import Event, EventType
from server.queue.hours import business_day
from server.store.engine import READ
from server.store.tables import tickets, windows

log = logging.getLogger(__name__)
RULE_TYPES = ("long_wait", "unserved", "open_window", "pause_too_long", "crowding")

TOPIC = "alerts"
Commit = Callable[[EventType, tuple[str, ...], dict[str, Any]], Awaitable[None]]


class AlertInbox:
    """Stored alerts of the hall (``server/alerts/store.py``) fed from the hub."""

    def __init__(self, store: AlertStore, hub: Hub, tz: ZoneInfo, clock: Callable[[], float] = time.time, *,
                 config: HallConfig | None = None, rules: RuleSettings | None = None,
                 interval: float | None = None, commit: Commit | None = None) -> None:
        self.store = store
        self.commit = commit  # None: publish on this process's hub only (tests without a queue store)
        self.hub = hub
        self.tz = tz
        self.clock = clock
        self._fixed_rules = rules
        self._fixed_interval = interval
        self.reconfigure(config)
        self._active: set[tuple[str, str]] | None = None  # rule findings with an open alert
        self._task: asyncio.Task[None] | None = None

    def reconfigure(self, config: HallConfig | None) -> None:
        """Take the (new) hall config: its services, windows and ``supervision:`` thresholds."""
        self.config = config
        supervision = config.supervision if config is not None else None
        self.rules = self._fixed_rules or (RuleSettings.of(supervision) if supervision else RuleSettings())
        self.interval = (self._fixed_interval if self._fixed_interval is not None
                         else supervision.interval_seconds if supervision else 30.0)
        self.notify_windows = supervision.notify_windows if supervision is not None else True

    def start(self) -> None:
        """Follow the hub (every topic: ``ticket.rated`` is on ticket/window topics); run the rules."""
        self.hub.add_handler(self.on_event)
        if self.config is not None and self.interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._rule_loop())

    async def stop(self) -> None:
        """Stop the rule loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _rule_loop(self) -> None:
        while True:
            try:
                await self.evaluate_rules()
            except Exception:  # a failed round must not end the loop
                log.exception("alert rules failed")
            await asyncio.sleep(self.interval)

    def _state(self) -> tuple[list[Waiting], list[WindowNow]]:
        assert self.config is not None
        hall = self.config.hall
        today = business_day(dt.datetime.fromtimestamp(self.clock(), dt.UTC), hall.tz, hall.rollover).isoformat()
        t, w = tickets.c, windows.c
        with self.store.engine.connect().execution_options(**{READ: True}) as conn, conn.begin():
            waiting = [Waiting(r.service, r.sort_at) for r in conn.execute(
                select(t.service, t.sort_at).where(t.business_day == today, t.state == "issued"))]
            states = [WindowNow(r.number, r.state, r.updated_at, r.pause_reason) for r in conn.execute(
                select(w.number, w.state, w.updated_at, w.pause_reason))]
        return waiting, states

    async def evaluate_rules(self) -> None:
        """One round of the rules: report findings that turned active, clear those that ended."""
        if self.config is None:
            return
        if self._active is None:
            open_ = await asyncio.to_thread(self.store.list, state="open", limit=1000)
            self._active = {(a.type, a.subject) for a in open_ if a.type in RULE_TYPES}
        waiting, states = await asyncio.to_thread(self._state)
        for f in evaluate(self.config, self.now(), waiting, states, self.rules):
            key = (f.type, f.subject)
            if f.active and key not in self._active:
                alert = await self.report(f.type, f.subject, severity=f.severity, message=f.message)
                self._active.add(key)
                if self.notify_windows and f.notify:
                    # window.notice, not alert.*: alerts reach managers only (server/auth/topics.py)
                    await self._publish(EventType.WINDOW_NOTICE, tuple(f"window:{n}" for n in f.notify),
                                        {"alert": alert.to_dict(self.tz), "inbox": True})
            elif not f.active and key in self._active:
                await self.clear(f.type, f.subject)
                self._active.discard(key)

    def now(self) -> int:
        """Milliseconds now."""
        return int(self.clock() * 1000)

    async def _publish(self, kind: EventType, topics: tuple[str, ...], data: dict[str, Any]) -> None:
        if self.commit is None:
            self.hub.publish_ephemeral(kind, topics, data)
            return
        try:
            await self.commit(kind, topics, data)
        except Exception:  # the alert is stored; screens still re-read the inbox every 60 s
            log.exception("committing %s failed; publishing on this worker only", kind.value)
            self.hub.publish_ephemeral(kind, topics, data)

    async def _push(self, alert: Alert) -> None:
        kind = EventType.ALERT_CLEARED if alert.state == "resolved" else EventType.ALERT_RAISED
        await self._publish(kind, (TOPIC,), {"alert": alert.to_dict(self.tz), "inbox": True})

    async def report(self, type_: str, subject: str, *, severity: str, message: str, evidence: str | None = None,
                     once: bool = False) -> Alert:
        """Store one report of a condition and push the alert if it changed."""
        alert, changed = await asyncio.to_thread(self.store.report, type_, subject, severity=severity,
                                                 message=message, evidence=evidence, now=self.now(), once=once)
        if changed:
            await self._push(alert)
        return alert

    async def clear(self, type_: str, subject: str) -> None:
        """The condition ended: resolve its open alert (if any) and push it."""
        alert = await asyncio.to_thread(self.store.clear, type_, subject, now=self.now())
        if alert is not None:
            await self._push(alert)

    async def ack(self, alert_id: int, actor: str) -> Alert:
        """Acknowledge and push."""
        alert = await asyncio.to_thread(self.store.ack, alert_id, actor=actor, now=self.now())
        await self._push(alert)
        return alert

    async def resolve(self, alert_id: int, actor: str) -> Alert:
        """Resolve and push."""
        alert = await asyncio.to_thread(self.store.resolve, alert_id, actor=actor, now=self.now())
        await self._push(alert)
        return alert

    async def _device(self, entry: dict[str, Any]) -> None:
        health = entry.get("health") or {}
        subject, state = f"device:{entry.get('id')}", health.get("state")
        if state in ("fault", "offline"):
            faults = "、".join(str(f) for f in health.get("faults") or ()) or str(state)
            await self.report("device_fault", subject, severity="critical",
                              message=f"设备{entry.get('id')}（{entry.get('kind', '')}）故障：{faults}")
        elif state in ("ready", "busy"):
            await self.clear("device_fault", subject)

    async def on_event(self, event: Event) -> None:
        """Map one hub event to alert reports (see the module docstring)."""
        if event.type == EventType.TICKET_RATED:
            rating, ticket = event.payload.rating, event.payload.ticket
            if rating.bad:
                await self.report("bad_rating", f"ticket:{ticket.id}", severity="warning", once=True,
                                  message=f"{ticket.window}号窗口收到差评（{ticket.number}，{rating.label}）")
            return
        if event.type == EventType.DEVICE_HEALTH:
            await self._device(event.data.get("device") or {})
            return
        if not event.type.startswith("alert.") or event.type in (EventType.ALERT_RAISED, EventType.ALERT_CLEARED):
            return
        data: dict[str, Any] = event.data
        if data.get("inbox"):
            return
        if event.type == EventType.ALERT_BAD_RATING:
            await self.report("bad_rating", f"ticket:{data.get('ticket_id')}", severity="warning", once=True,
                              message=str(data.get("message", "差评")), evidence=data.get("snapshot"))
        elif event.type == EventType.ALERT_CLERK_ABSENT:
            subject = f"window:{data.get('window')}"
            if data.get("active"):
                await self.report("clerk_absent", subject, severity="warning",
                                  message=str(data.get("message", "窗口人员离岗")), evidence=data.get("snapshot"))
            else:
                await self.clear("clerk_absent", subject)
        elif event.type == EventType.ALERT_CASE_OVERDUE:  # committed by server/store/cases.py sweep_overdue
            await self.report("case_overdue", f"case:{data.get('case_id')}", severity="warning",
                              message=str(data.get("message", "差评案件超期")))
        elif event.type == EventType.ALERT_CASE_ESCALATED:  # the same sweep, escalate_days later: 升级督办
            await self.report("case_escalated", f"case:{data.get('case_id')}", severity="critical",
                              message=str(data.get("message", "差评案件超期未办，已升级督办")))
        elif event.type == EventType.ALERT_CROWDING:
            subject = f"camera:{data.get('camera')}"
            if data.get("active"):
                await self.report("crowding", subject, severity="info", message=str(data.get("message", "等候区拥挤")))
            else:
                await self.clear("crowding", subject)
