"""ID-card identity sessions at the kiosks (身份证取号), kept in the store (table ``card_sessions``).

A card laid on a kiosk's reader reaches ``CardSessions.card_placed`` (in-process from the
device host, or through ``PUT /api/kiosks/{id}/card`` from a remote one). The server checks
the card against ``HallConfig.identity``, hashes the number with the installation key
(``identity_hasher`` of server/installation.py) and keeps only the keyed hash, the masked number and name, the
age and the expiry flag: one row per kiosk, so every worker and every device host sees the
same session and a restart loses none. The raw number, the name and the photo are never
stored, logged or published.

Events go through the store's outbox, so the kiosk page hears them whichever worker its
websocket is on: ``identity.session``, ``identity.ended``, ``identity.refused`` on topic
``kiosk:<id>``. Idle sessions end after ``identity.session_timeout_s``: every worker sweeps,
and the conditional delete lets exactly one of them announce the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, update

from server.errors import NotFound, text_of
from server.kiosk.reading import CardReading
from server.queue.adapt import expired_card_refused_everywhere
from server.queue.enums import Priority
from server.queue.events import DataEvent, EventType
from server.queue.limits import priority_for_age
from server.store.tables import card_sessions

if TYPE_CHECKING:
    from server.config import HallConfig
    from server.hall.service import HallService
    from server.store import QueueStore

log = logging.getLogger("hallq.kiosk.sessions")

SWEEP_SECONDS = 1.0
# the sweeper sleeps until the next session expires, at most this long: a session another worker
# opened ends at most this late there (its own worker ends it on time); idle, one read per nap
IDLE_SWEEP_SECONDS = 5.0
# the keyed hash of an ID number (server/installation.py ``identity_hasher``: HMAC-SHA256 with the
# installation's identity key); injected, so the kiosk feature never imports the device layer
Hasher = Callable[[str], str]


def reason(code: str) -> dict[str, str]:
    """A refusal or warning as the kiosk page shows it: ``{"code", "zh", "en"}`` (text from the catalogue)."""
    zh, en = text_of(code)
    return {"code": code, "zh": zh, "en": en}


def kiosk_topic(kiosk: str) -> str:
    """The websocket topic of one kiosk."""
    return f"kiosk:{kiosk}"


def unknown_kiosk(kiosk: str) -> NotFound:
    """404 for a kiosk the hall does not have."""
    return NotFound(f"没有此取号机：{kiosk}", f"Unknown kiosk: {kiosk}", code="unknown_kiosk", kiosk=kiosk)


@dataclass(frozen=True, slots=True)
class CardSession:
    """A person at a kiosk: the keyed hash and masked forms only, with the card's age."""

    kiosk: str
    session_id: str
    card_type: str
    key_hash: str
    masked_id: str | None
    masked_name: str | None
    age: int | None
    expired: bool
    opened_at: int  # ms since the epoch
    expires_at: int

    def public(self, priority: Priority) -> dict[str, Any]:
        """What the kiosk may show and events carry (never the hash)."""
        data: dict[str, Any] = {
            "session_id": self.session_id, "kiosk": self.kiosk, "card_type": self.card_type,
            "masked_name": self.masked_name, "masked_id": self.masked_id, "age": self.age,
            "priority": priority.value, "expired": self.expired,
        }
        if self.expired:
            data["warning"] = reason("expired_warning")
        return data


def _session(row: Any) -> CardSession:
    return CardSession(row.kiosk, row.session_id, row.card_type, row.key_hash, row.masked_id, row.masked_name,
                       row.age, bool(row.card_expired), int(row.opened_at), int(row.expires_at))


def _live(row: Any, now_ms: int) -> bool:
    return row is not None and row.refused is None and row.key_hash is not None and row.expires_at > now_ms


class CardSessions:
    """The kiosks' card sessions: opened from readings, read by any worker, ended by anyone."""

    def __init__(self, config: HallConfig, store: QueueStore, hall: HallService, hasher: Hasher) -> None:
        self.config = config
        self.settings = config.identity
        self.store = store
        self.hall = hall
        self.hasher = hasher
        self.kiosks = {k.id for k in config.kiosks}
        self._sweeper: asyncio.Task[None] | None = None
        self._placed = asyncio.Event()  # a session opened here: the sweeper re-reads its next expiry

    # -- rules -------------------------------------------------------------------------------

    def priority(self, session: CardSession | None) -> Priority:
        """The class a ticket with this session gets (the elderly rule of server/queue/limits.py)."""
        age = session.age if session is not None else None
        return priority_for_age(Priority.NORMAL, age, self.config.policy.elderly_age)

    def check_kiosk(self, kiosk: str) -> None:
        """Raise ``unknown_kiosk`` for a kiosk the hall does not have (any kiosk when none are configured)."""
        if self.kiosks and kiosk not in self.kiosks:
            raise unknown_kiosk(kiosk)

    def refusal(self, reading: CardReading) -> str | None:
        """Why the card cannot open a session under ``HallConfig.identity`` (None: it can)."""
        card = reading.card()
        today = self._today()
        if card.card_type.value not in self.settings.accepted_card_types:
            return "unsupported_card"
        if card.number_problem(today) is not None:
            return "invalid_number"
        # refused at the reader only when no service accepts it; else per service at issue (server/queue/adapt.py)
        if card.is_expired(today) and expired_card_refused_everywhere(self.config):
            return "card_expired"
        return None

    def _today(self) -> Any:
        return self.store.clock().astimezone(self.config.hall.tz).date()

    def _timeout_ms(self) -> int:
        return int(self.settings.session_timeout_s * 1000)

    # -- the device side: cards placed and lifted ---------------------------------------------

    async def card_placed(self, kiosk: str, reading: CardReading) -> CardSession | None:
        """Open the kiosk's session from a reading (replacing any), or record and announce its refusal."""
        self.check_kiosk(kiosk)
        refused = self.refusal(reading)
        card = reading.card()
        hashed = None if refused is not None else self.hasher(reading.id_number)
        age = card.age(self._today())
        row = {
            "kiosk": kiosk, "session_id": secrets.token_urlsafe(12), "card_type": card.card_type.value,
            "masked_id": card.masked_id, "masked_name": card.masked_name, "key_hash": hashed, "age": age,
            "card_expired": int(card.is_expired(self._today())), "refused": refused,
        }
        session = await self._write(self._place, row)
        self._placed.set()
        if refused is not None:
            log.info("kiosk %s: card refused (%s, %s)", kiosk, refused, card.card_type.value)
        elif session is not None:
            log.info("kiosk %s: identity session %s opened", kiosk, session.session_id)
        return session

    async def card_removed(self, kiosk: str) -> bool:
        """The card was lifted: end the kiosk's session (False when there was none)."""
        return await self.end(kiosk, "card_removed")

    # -- the kiosk side -------------------------------------------------------------------------

    async def session(self, kiosk: str) -> CardSession | None:
        """The kiosk's live session (None without one, after a refusal, or once it timed out)."""
        # one indexed row: inline on SQLite (HallService.read) — every kiosk issue asks twice (limits, issue)
        read = getattr(self.hall, "read", self.hall.run)
        session: CardSession | None = await read(self._get, kiosk)
        return session

    async def end(self, kiosk: str, why: str = "kiosk") -> bool:
        """End the kiosk's session (citizen pressed 退出, card lifted, ticket issued); False when there was none."""
        return await self._write(self._end, kiosk, why, None)

    async def after_ticket(self, session: CardSession) -> None:
        """A ticket was issued with ``session`` (if still current): end it, or give the citizen time again."""
        if self.settings.end_after_ticket:
            await self._write(self._end, session.kiosk, "ticket_issued", session.session_id)
        else:
            await self.hall.write(self._touch, session)

    async def snapshot(self, kiosk: str) -> dict[str, Any]:
        """The websocket snapshot of topic ``kiosk:<id>``: ``{"session": masked session or None}``."""
        session = await self.session(kiosk)
        return {"session": session.public(self.priority(session)) if session else None}

    # -- timeouts -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start sweeping timed-out sessions (every worker may; one announces each end)."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever(), name="card-sessions")

    async def stop(self) -> None:
        """Stop sweeping; sessions stay in the store (a restart loses none)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def sweep(self) -> int:
        """End every timed-out session and drop old refusals now; returns how many sessions ended."""
        ended: int = await self._write(self._sweep)
        return ended

    async def _sweep_forever(self) -> None:
        # Sweep when a session is due, else nap until the next expiry (≤ IDLE_SWEEP_SECONDS): a
        # write transaction every second was a good part of an idle server's CPU (bench/bench_footprint.py).
        while True:
            nap = SWEEP_SECONDS
            try:
                due = await self.hall.read(self._next_expiry)
                if due is not None and due <= self._now_ms():
                    await self.sweep()
                    due = await self.hall.read(self._next_expiry)
                nap = IDLE_SWEEP_SECONDS if due is None else (due - self._now_ms()) / 1000
            except Exception:
                log.exception("sweeping card sessions failed")
            self._placed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._placed.wait(), min(IDLE_SWEEP_SECONDS, max(0.05, nap)))

    def _now_ms(self) -> int:
        return int(self.store.clock().timestamp() * 1000)

    def _next_expiry(self) -> int | None:
        with self.store._read() as conn:
            due: int | None = conn.execute(select(func.min(card_sessions.c.expires_at))).scalar()
        return due

    # -- store (sync, on the store's threads) --------------------------------------------------

    async def _write(self, fn: Any, *args: Any) -> Any:
        value, events = await self.hall.write(fn, *args)
        self.hall.enqueue(events)
        return value

    def _get(self, kiosk: str) -> CardSession | None:
        with self.store._read() as conn:
            row = conn.execute(select(card_sessions).where(card_sessions.c.kiosk == kiosk)).first()
        now = int(self.store.clock().timestamp() * 1000)
        return _session(row) if _live(row, now) else None

    def _place(self, values: dict[str, Any]) -> tuple[CardSession | None, tuple[Any, ...]]:
        kiosk = values["kiosk"]
        with self.store._tx() as tx:
            self._end_row(tx, tx.conn, kiosk, "replaced", None)  # a new card is a new person
            row = {**values, "opened_at": tx.ms, "expires_at": tx.ms + self._timeout_ms()}
            tx.conn.execute(insert(card_sessions), row)
            if values["refused"] is not None:
                tx.emit(EventType.IDENTITY_REFUSED, (kiosk_topic(kiosk),), DataEvent({
                    "kiosk": kiosk, "card_type": values["card_type"], "masked_name": values["masked_name"],
                    "masked_id": values["masked_id"], "reason": reason(values["refused"]),
                }))
                session = None
            else:
                session = _session(tx.conn.execute(
                    select(card_sessions).where(card_sessions.c.kiosk == kiosk)).one())
                tx.emit(EventType.IDENTITY_SESSION, (kiosk_topic(kiosk),),
                        DataEvent(session.public(self.priority(session))))
        return session, tuple(tx.events)

    def _end(self, kiosk: str, why: str, session_id: str | None) -> tuple[bool, tuple[Any, ...]]:
        with self.store._tx() as tx:
            ended = self._end_row(tx, tx.conn, kiosk, why, session_id)
        return ended, tuple(tx.events)

    def _end_row(self, tx: Any, conn: Connection, kiosk: str, why: str, session_id: str | None) -> bool:
        c = card_sessions.c
        cond = c.kiosk == kiosk if session_id is None else (c.kiosk == kiosk) & (c.session_id == session_id)
        row = conn.execute(delete(card_sessions).where(cond).returning(*card_sessions.c)).first()
        if row is None or not _live(row, tx.ms):
            return False
        log.info("kiosk %s: identity session %s ended (%s)", kiosk, row.session_id, why)
        tx.emit(EventType.IDENTITY_ENDED, (kiosk_topic(kiosk),),
                DataEvent({"kiosk": kiosk, "session_id": row.session_id, "reason": why}))
        return True

    def _touch(self, session: CardSession) -> None:
        c = card_sessions.c
        with self.store._tx() as tx:
            tx.conn.execute(update(card_sessions).where((c.kiosk == session.kiosk)
                                                        & (c.session_id == session.session_id))
                            .values(expires_at=tx.ms + self._timeout_ms()))

    def _sweep(self) -> tuple[int, tuple[Any, ...]]:
        c = card_sessions.c
        with self.store._tx() as tx:
            gone = tx.conn.execute(delete(card_sessions).where(c.expires_at <= tx.ms)
                                   .returning(c.kiosk, c.session_id, c.refused)).all()
            ended = 0
            for row in gone:
                if row.refused is None:
                    ended += 1
                    log.info("kiosk %s: identity session %s ended (timeout)", row.kiosk, row.session_id)
                    tx.emit(EventType.IDENTITY_ENDED, (kiosk_topic(row.kiosk),),
                            DataEvent({"kiosk": row.kiosk, "session_id": row.session_id, "reason": "timeout"}))
        return ended, tuple(tx.events)
