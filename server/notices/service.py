"""``NoticeService``: phone numbers in, SMS notices out — never on the write path of a call.

- ``remember_phone`` / ``forget_phone`` keep or erase the one full copy of a number
  (server/notices/outbox.py ``notice_contacts``); the ticket page attaches one with
  ``attach_ticket`` (``POST /api/tickets/by-token/{token}/notify``).
- A hub handler (server/hall/hub.py ``add_handler``) hands ticket events to this service's own
  task, which follows them in batches (one read per batch finds the few tickets that keep a
  number; a ticket without one costs no write): ``ticket.called`` queues 请到X号窗口 once; after
  each batch the waiting tickets with a number are checked against ``notices.near_ahead`` / ``near_minutes`` and
  即将到号 is queued once (a unique ``dedup`` key, so several workers still queue it once);
  a ticket that ends (finished, no-show, cancelled, expired) releases its number, erased
  ``keep_hours`` later by the sweep; a transfer moves the number to the new ticket.
- The sender loop claims due ``log``/``http`` notices and hands them to the adapter, with
  exponential backoff; a notice that fails for good is ``failed`` with its error and
  raises a ``notice_failed`` alert. ``modem`` notices are claimed by the device host that owns
  the modem (server/notices/modem.py) through the same claim/settle functions.
- Once a day at ``notices.reminder_time`` the bookings of tomorrow (server/appointments/
  ``AppointmentBook.tomorrow``) with a remembered number get their 预约提醒.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server.config import HallConfig, NoticesConfig
from server.errors import Conflict, NotFound
from server.notices import numbers, outbox
from server.notices.adapters import Notifier, Rejected, Transient
from server.queue.events import Event, EventType
from server.store.rows import to_ms

if TYPE_CHECKING:
    from server.hall.hub import Hub
    from server.hall.service import HallService

log = logging.getLogger("hallq.notices")

ENDED = {EventType.TICKET_FINISHED, EventType.TICKET_NO_SHOW, EventType.TICKET_CANCELLED, EventType.TICKET_EXPIRED}
LEASE_MS = 120_000
IDLE_POLL_S = 8.0  # the send loop's longest nap while nothing is due (woken at once by an enqueue)
ALERT_TYPE = "notice_failed"
BACKLOG_MAX = 10_000  # ticket events waiting to be followed (the hub's handler queue holds as many)


def backoff_s(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after ``attempts`` failed ones (exponential, ±10 % jitter, capped)."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.9, 1.1))


def ticket_key(ticket_id: int) -> str:
    """The contact key of a ticket."""
    return f"ticket:{ticket_id}"


class NoticeService:
    """Contacts, the notice outbox, the triggers and the sender of one hall."""

    def __init__(self, config: Callable[[], HallConfig], store: Any, hall: HallService, hub: Hub, *,
                 hasher: Callable[[str], str], sealer: numbers.Sealer, notifier: Notifier | None,
                 alerts: Any = None, poll_s: float = 1.0) -> None:  # fmt: skip
        self._config = config
        self.store = store
        self.hall = hall
        self.hub = hub
        self.hasher = hasher
        self.sealer = sealer
        self.notifier = notifier
        self.alerts = alerts
        self.poll_s = poll_s
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_reminder_day: dt.date | None = None
        self._backlog: list[Event] = []
        self._follower: asyncio.Task[None] | None = None

    @property
    def settings(self) -> NoticesConfig:
        """The ``notices:`` section now (follows the live configuration)."""
        return self._config().notices

    def now_ms(self) -> int:
        """The store's clock in ms."""
        return to_ms(self.store.clock())

    def _begin(self) -> Any:
        return self.store.engine.begin()

    async def _tx(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def work() -> Any:
            with self._begin() as conn:
                return fn(conn, *args, **kwargs)

        # where the queue's own writes go (HallService.write: inline on SQLite, else the one writer
        # thread): on a read thread this BEGIN IMMEDIATE fought the queue writer for SQLite's lock on
        # every ticket event, and the loser slept in SQLite's busy handler (bench/bench_cycle.py p99)
        return await getattr(self.hall, "write", self.hall.run)(work)

    async def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        def work() -> Any:
            reader = getattr(self.store, "_read", None)  # QueueStore: a deferred BEGIN, never the write lock
            with reader() if reader is not None else self.store.engine.connect() as conn:
                return fn(conn, *args)

        # one indexed read: inline where the writes are (SQLite), else the read pool (HallService.read)
        return await getattr(self.hall, "read", self.hall.run)(work)

    # -- contacts ----------------------------------------------------------------------------

    def phone_hash(self, phone: str) -> str:
        """The keyed hash of a number (server/notices/numbers.py)."""
        return self.hasher(phone)

    def remember_phone(self, key: str, phone: str, *, ticket_id: int | None = None,
                       erase_at_ms: int | None = None) -> asyncio.Task[dict[str, Any]]:
        """Keep ``phone`` for ``key`` until its notices are done; a task answering the masked form and the hash.

        Validation is immediate (MobileInvalid); the write runs as a task, so a caller in a
        synchronous helper may leave it running and one in a coroutine may ``await`` it. A
        key that is not a ticket's is erased ``keep_hours`` after ``erase_at_ms`` (default: 31
        days from now, past any booking horizon) at the latest.
        """
        number = numbers.normalise(phone)
        masked, hashed = numbers.mask(number), self.hasher(number)
        now = self.now_ms()
        if ticket_id is None:
            erase_at_ms = (erase_at_ms or now + 31 * 24 * 3_600_000) + self.settings.keep_hours * 3_600_000
        sealed = self.sealer.seal(number)

        async def write() -> dict[str, Any]:
            await self._tx(outbox.remember, key, sealed, masked, hashed, ticket_id=ticket_id, now_ms=now,
                           erase_at=erase_at_ms)
            return {"key": key, "masked": masked, "phone_hash": hashed}

        task = asyncio.get_running_loop().create_task(write(), name=f"notices-remember-{key}")
        task.add_done_callback(_log_failure)
        return task

    async def forget_phone(self, key: str) -> None:
        """Cancel the queued notices of ``key`` and erase its number now."""
        await self._tx(outbox.forget, key, now_ms=self.now_ms())

    async def attach_ticket(self, token: str, phone: str) -> dict[str, Any]:
        """The phone page: notices for the ticket holding ``token`` (404 for a wrong token, 409 when it ended)."""
        view = await self.hall.get_ticket_by_token(token)
        ticket = view.get("ticket", view)
        if ticket["state"] not in ("issued", "called", "serving", "suspended"):
            raise Conflict("该号已办结，无需短信提醒", "The ticket has ended", code="notice_ticket_ended")
        answer = await self.remember_phone(ticket_key(int(ticket["id"])), phone, ticket_id=int(ticket["id"]))
        settings = self.settings
        await self.check_near([int(ticket["id"])])
        return {"masked": answer["masked"], "near_ahead": settings.near_ahead, "near_minutes": settings.near_minutes,
                "enabled": settings.enabled}

    async def detach_ticket(self, token: str) -> None:
        """The phone page: no more notices for this ticket; the number is erased."""
        view = await self.hall.get_ticket_by_token(token)
        ticket = view.get("ticket", view)
        await self.forget_phone(ticket_key(int(ticket["id"])))

    # -- queueing ----------------------------------------------------------------------------------

    def render(self, kind: str, params: dict[str, Any]) -> str | None:
        """The text of ``kind`` with ``params`` (and the hall name); None for an unknown kind."""
        template = self.settings.templates.template(kind)
        if template is None:
            return None
        values = {"hall": self._config().hall.name, **{k: "" if v is None else str(v) for k, v in params.items()}}
        return template.format_map(_Blank(values))

    async def enqueue(self, key: str, kind: str, params: dict[str, Any], *, dedup: str | None = None) -> int | None:
        """Queue one notice for ``key``; None when disabled, no number is kept, or ``dedup`` was queued before."""
        settings = self.settings
        if not settings.enabled:
            return None
        text = self.render(kind, params)
        if text is None:
            log.warning("notice kind %r has no template", kind)
            return None

        def write(conn: Any) -> int | None:
            row = outbox.contact(conn, key)
            if row is None or row.phone is None:
                return None
            return outbox.enqueue(conn, key=key, kind=kind, text=text, masked=row.masked, channel=settings.channel,
                                  dedup=dedup, now_ms=self.now_ms())

        notice_id: int | None = await self._tx(write)
        if notice_id is not None:
            self._wake.set()
        return notice_id

    # -- triggers -----------------------------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        """Ticket events (a hub handler): queued here and followed in batches by one task of this service."""
        if not event.type.is_ticket or event.type is EventType.TICKET_RATED:
            return
        if len(self._backlog) >= BACKLOG_MAX:  # like the hub's own handler queue: never grow without bound
            log.warning("notices fell %d ticket events behind; the oldest were dropped", BACKLOG_MAX)
            del self._backlog[: BACKLOG_MAX // 2]
        self._backlog.append(event)
        if self._follower is None or self._follower.done():
            self._follower = asyncio.get_running_loop().create_task(self._follow_backlog(), name="notices-events")

    async def _follow_backlog(self) -> None:
        # events that arrived while the last batch was handled form the next one: under load one
        # read covers many events (it was several write transactions per event, bench/bench_cycle.py)
        while self._backlog:
            batch, self._backlog = self._backlog, []
            try:
                await self._on_ticket_events(batch)
            except Exception:  # a notice problem must never stop following
                log.exception("notices: handling %d ticket events failed", len(batch))

    async def _on_ticket_events(self, events: list[Event]) -> None:
        """Follow ``events`` in order, then check the near-turn threshold once for all of them."""
        # one short read: most tickets keep no number, and then nothing is written at all
        kept, watched = await self._read(outbox.watch, [ticket_key(e.payload.ticket.id) for e in events])
        for event in events:
            ticket = event.payload.ticket
            key = ticket_key(ticket.id)
            if key not in kept:
                continue
            if event.type is EventType.TICKET_CALLED:
                window = event.payload.window.number if event.payload.window is not None else ticket.window
                await self.enqueue(key, "called", _params(ticket, window=window), dedup=f"called:{ticket.id}")
            elif event.type is EventType.TICKET_TRANSFERRED and event.payload.child is not None:
                await self._move(key, event.payload.child.id)
                kept.add(ticket_key(event.payload.child.id))  # the child's own events later in this batch
            if event.type in ENDED or event.type is EventType.TICKET_TRANSFERRED:
                await self._tx(outbox.release, key, erase_at=self.now_ms() + self.settings.keep_hours * 3_600_000)
        # the check reads each ticket as it is now, so once after the batch equals once per event
        if kept:
            await self.check_near()  # numbers may have moved or been released: read the list again
        elif watched:
            await self.check_near(watched)

    async def _move(self, key: str, child_id: int) -> None:
        def move(conn: Any) -> None:
            row = outbox.contact(conn, key)
            if row is not None and row.phone:
                outbox.remember(conn, ticket_key(child_id), row.phone, row.masked, row.phone_hash,
                                ticket_id=child_id, now_ms=self.now_ms())

        await self._tx(move)

    async def move_phone(self, key: str, ticket_id: int) -> bool:
        """A booking became ticket ``ticket_id`` (预约签到 / 远程取号): its number now serves that ticket's notices.

        The number is copied to the ticket's key (即将到号, 请到X号窗口) and the booking's key is
        forgotten (its reminder cancelled, its copy erased); False when no number was remembered.
        """
        now = self.now_ms()

        def move(conn: Any) -> bool:
            row = outbox.contact(conn, key)
            if row is None or not row.phone:
                return False
            outbox.remember(conn, ticket_key(ticket_id), row.phone, row.masked, row.phone_hash,
                            ticket_id=ticket_id, now_ms=now)
            outbox.forget(conn, key, now_ms=now)
            return True

        moved = bool(await self._tx(move))
        if moved:
            await self.check_near([ticket_id])
        return moved

    async def check_near(self, ticket_ids: list[int] | None = None) -> int:
        """Queue 即将到号 for every waiting ticket with a number at the threshold; how many were queued."""
        settings = self.settings
        if not settings.enabled or (settings.near_ahead is None and settings.near_minutes is None):
            return 0
        if ticket_ids is None:
            rows = await self._tx(outbox.contacts_of_tickets)
            ticket_ids = [int(r.ticket_id) for r in rows]
        queued = 0
        for ticket_id in ticket_ids:
            try:
                ticket = await self.hall.get_ticket(ticket_id)
            except NotFound:
                continue
            ticket = ticket.get("ticket", ticket)
            if ticket["state"] != "issued":  # waiting
                continue
            ahead, eta = ticket.get("ahead"), ticket.get("eta_minutes")
            near = (settings.near_ahead is not None and ahead is not None and ahead <= settings.near_ahead) or (
                settings.near_minutes is not None and eta is not None and eta <= settings.near_minutes)
            if near and await self.enqueue(ticket_key(ticket_id), "near", {**_params_of(ticket), "ahead": ahead,
                                                                          "minutes": eta if eta is not None else ""},
                                           dedup=f"near:{ticket_id}") is not None:  # fmt: skip
                queued += 1
        return queued

    # -- reminders ------------------------------------------------------------------------------------

    async def send_reminders(self, today: dt.date) -> int:
        """预约提醒 for tomorrow's bookings that have a remembered number; how many were queued."""
        try:
            from server.appointments.book import AppointmentBook
        except ImportError:  # appointments not installed
            return 0
        book = AppointmentBook(self._config, self.store)
        queued = 0
        for r in await self.hall.run(book.tomorrow, today):
            params = {"code": r.code, "service": r.service_name, "date": r.slot_at.strftime("%m月%d日"),
                      "time": r.slot_at.strftime("%H:%M")}
            key = f"appointment:{r.code}"
            if await self.enqueue(key, "reminder", params,
                                  dedup=f"reminder:{r.code}:{int(r.slot_at.timestamp())}") is not None:
                queued += 1
            # the reminder was the last notice a booking needs: erase the number once the slot day is over
            end_of_slot_day = dt.datetime.combine(r.slot_at.date() + dt.timedelta(days=1), dt.time(),
                                                  r.slot_at.tzinfo)  # fmt: skip
            await self._tx(outbox.release, key,
                           erase_at=to_ms(end_of_slot_day) + self.settings.keep_hours * 3_600_000)
        return queued

    async def _reminder_loop(self) -> None:
        while True:
            try:
                config = self._config()
                now = dt.datetime.now(config.hall.tz)
                if now.time() >= self.settings.reminder_time and self._last_reminder_day != now.date():
                    self._last_reminder_day = now.date()
                    count = await self.send_reminders(now.date())
                    log.info("notices: %d appointment reminders queued for %s", count, now.date() + dt.timedelta(1))
                await self._tx(outbox.erase_due, now_ms=self.now_ms())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notices: reminder/erase sweep failed")
            await asyncio.sleep(60)

    # -- sending ---------------------------------------------------------------------------------------

    async def tick(self) -> int:
        """Send every due notice of this process's channel once; how many were sent."""
        if self.notifier is None:
            return 0
        channel = self.notifier.channel
        ids: list[int] = await self._tx(outbox.due, channel=channel, now_ms=self.now_ms(), limit=50)
        sent = 0
        for notice_id in ids:
            claimed = await self._tx(outbox.claim, notice_id, sender=self.name, now_ms=self.now_ms(),
                                     lease_ms=LEASE_MS)  # fmt: skip
            if claimed is None:
                continue
            notice, sealed = claimed
            phone = self.sealer.open(sealed)
            if phone is None:
                await self.settle_failure(notice, "the stored number does not open (secret changed?)", permanent=True)
                continue
            sent += await self.deliver(notice, phone, self.notifier)
        return sent

    async def deliver(self, notice: outbox.Notice, phone: str, notifier: Notifier) -> int:
        """Hand one claimed notice to ``notifier`` and settle it; 1 when sent."""
        try:
            refs = await notifier.send(notice, phone)
        except Rejected as exc:
            await self.settle_failure(notice, str(exc), permanent=True)
            return 0
        except Transient as exc:
            await self.settle_failure(notice, str(exc))
            return 0
        except Exception as exc:  # an adapter bug is a retry, never a lost notice
            await self.settle_failure(notice, f"{type(exc).__name__}: {exc}")
            return 0
        await self._tx(outbox.settle, notice.id, sender=self.name, state="sent", now_ms=self.now_ms(), refs=refs)
        return 1

    async def settle_failure(self, notice: outbox.Notice, error: str, *, permanent: bool = False,
                             sender: str | None = None) -> str:  # fmt: skip
        """Record a failed attempt: ``retrying`` with backoff, or ``failed`` (and an alert); the state."""
        settings = self.settings
        error = numbers.MOBILE_IN_TEXT.sub(lambda m: numbers.mask(m.group()), error)  # a gateway may echo it
        final = permanent or notice.attempts >= settings.max_attempts
        state = "failed" if final else "retrying"
        retry_at = None if final else self.now_ms() + int(
            backoff_s(notice.attempts, settings.backoff_base_s, settings.backoff_max_s) * 1000)
        await self._tx(outbox.settle, notice.id, sender=sender or self.name, state=state, now_ms=self.now_ms(),
                       error=error, retry_at=retry_at)  # fmt: skip
        log.warning("notice %d (%s to %s) %s: %s", notice.id, notice.kind, notice.masked, state, error)
        if final and self.alerts is not None:
            with contextlib.suppress(Exception):
                await self.alerts.report(ALERT_TYPE, f"notice:{notice.id}", severity="warning",
                                         message=f"短信发送失败（{notice.masked}，{notice.kind}）：{error}"[:400])
        return state

    async def _send_loop(self) -> None:
        # An enqueue or a retry here sets _wake; the poll finds retries coming due and notices of
        # other processes. Idle, it backs off from poll_s to IDLE_POLL_S (a store transaction per
        # second was most of an idle server's CPU: bench/bench_footprint.py); any work snaps it back.
        nap = self.poll_s
        while True:
            sent = 0
            try:
                sent = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notices: send loop failed")
            nap = self.poll_s if sent else min(max(self.poll_s, IDLE_POLL_S), nap * 2)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), nap)
            if self._wake.is_set():
                nap = self.poll_s

    # -- the modem's device host (server/notices/modem.py) ---------------------------------------------------

    async def claim(self, channel: str, sender: str, limit: int, *, lease_ms: int = LEASE_MS) -> list[dict[str, Any]]:
        """Claim up to ``limit`` due notices of ``channel`` for ``sender``: id, kind, text, masked, phone, attempts."""
        ids: list[int] = await self._tx(outbox.due, channel=channel, now_ms=self.now_ms(), limit=limit)
        out = []
        for notice_id in ids:
            claimed = await self._tx(outbox.claim, notice_id, sender=sender, now_ms=self.now_ms(), lease_ms=lease_ms)
            if claimed is not None:
                notice, sealed = claimed
                phone = self.sealer.open(sealed)
                if phone is None:
                    await self.settle_failure(notice, "the stored number does not open", permanent=True, sender=sender)
                    continue
                out.append({"id": notice.id, "kind": notice.kind, "text": notice.text, "masked": notice.masked,
                            "phone": phone, "attempts": notice.attempts})
        return out

    async def settle_remote(self, notice_id: int, sender: str, *, sent: bool, error: str | None = None,
                            refs: str | None = None, permanent: bool = False) -> None:  # fmt: skip
        """The outcome of a send by another process (the device host)."""
        if sent:
            await self._tx(outbox.settle, notice_id, sender=sender, state="sent", now_ms=self.now_ms(), refs=refs)
            return
        notice = await self._tx(outbox.get, notice_id)
        if notice is None:
            raise NotFound("没有这条短信记录", "No such notice", code="unknown_notice", notice=notice_id)
        await self.settle_failure(notice, error or "send failed", permanent=permanent, sender=sender)

    async def delivery_report(self, ref: int, status: int, *, delivered: bool) -> int | None:
        """A status report from the modem: the notice it concerns becomes delivered (or failed)."""
        since = self.now_ms() - 3 * 24 * 3_600_000
        return await self._tx(outbox.delivered, ref, delivered_ok=delivered, status=status, now_ms=self.now_ms(),
                              since_ms=since)  # fmt: skip

    # -- supervisors ---------------------------------------------------------------------------------------

    async def status(self, *, state: str | None = None, limit: int = 100) -> dict[str, Any]:
        """Counts per state and the newest notices (masked numbers only)."""
        def read(conn: Any) -> dict[str, Any]:
            return {"counts": outbox.counts(conn),
                    "notices": [x.to_dict() for x in outbox.listing(conn, state=state, limit=limit)],
                    "channel": self.settings.channel, "enabled": self.settings.enabled}

        result: dict[str, Any] = await self._tx(read)
        return result

    async def retry(self, notice_id: int) -> None:
        """Put a failed notice back in the queue now."""
        def write(conn: Any) -> str | None:
            if outbox.retry(conn, notice_id, now_ms=self.now_ms()):
                return None
            found = outbox.get(conn, notice_id)
            return found.state if found is not None else "missing"

        refused = await self._tx(write)
        if refused == "missing":
            raise NotFound("没有这条短信记录", "No such notice", code="unknown_notice", notice=notice_id)
        if refused is not None:
            raise Conflict("只有发送失败的短信可以重发", "Only a failed notice can be retried",
                           code="notice_not_retryable", state=refused)
        self._wake.set()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Follow the hub; run the sender (when this process has an adapter) and the reminder/erase sweep."""
        self.hub.add_handler(self.on_event, topics=("*",))
        if self.notifier is not None:
            self._tasks.append(asyncio.create_task(self._send_loop(), name="notices-sender"))
        self._tasks.append(asyncio.create_task(self._reminder_loop(), name="notices-reminders"))

    async def stop(self) -> None:
        """Stop the loops and close the adapter."""
        if self._follower is not None:
            self._tasks.append(self._follower)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.notifier is not None:
            await self.notifier.close()


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("notices: keeping a number failed: %s", task.exception())


def _params(ticket: Any, *, window: int | None = None) -> dict[str, Any]:
    return {"number": ticket.number, "service": ticket.service_name, "window": window if window is not None else ""}


def _params_of(ticket: dict[str, Any]) -> dict[str, Any]:
    return {"number": ticket["number"], "service": ticket["service_name"], "window": ticket.get("window") or ""}


class _Blank(dict[str, str]):
    """``format_map`` leaving unknown ``{fields}`` empty (a template naming a field the kind lacks)."""

    def __missing__(self, key: str) -> str:
        return ""
