"""The kiosk identity flow (身份证取号): ID-card readers → identity sessions → tickets.

A card laid on a kiosk's reader opens an identity session on that kiosk; the kiosk
page learns of it over the websocket (topic ``kiosk:<id>``) and issues tickets bound
to that identity through ``issue_with_session``. The session ends when the card is
lifted, after a timeout, or when the kiosk ends it.

Privacy: the raw ID number lives only inside the driver's IdCard for the moment it
takes to hash it; sessions, events, tickets and logs carry the keyed hash and masked
forms only (never the number, the name or the photo).

Wiring (``server/app.py`` or ``server/devices/setup.py``, after the manager exists)::

    identity = IdentityWiring.from_config(config)
    app.state.identity = identity          # read by server/api/identity.py
    manager.add_wiring(identity)           # start(manager) subscribes to every idcard_reader

Events (``publish(type, ("kiosk:<id>",), data)``): ``identity.session``,
``identity.ended``, ``identity.refused``, ``identity.read_failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.contract import CardEvent
from drivers.idcard.card import CardType, IdCard
from server.devices.ports import Publish, QueueOps
from server.devices.secrets import identity_key, key_hash, load_or_create_secret
from server.errors import Conflict, NotFound

log = logging.getLogger("hallq.devices.identity")

KIND = "idcard_reader"
SESSION, ENDED, REFUSED, READ_FAILED = "identity.session", "identity.ended", "identity.refused", "identity.read_failed"

REASONS: dict[str, tuple[str, str]] = {
    "invalid_number": (
        "身份证号码校验未通过，请到人工窗口办理",
        "The ID number failed validation; please go to a staffed window.",
    ),
    "card_expired": (
        "证件已过有效期，请使用有效证件或到人工窗口办理",
        "The card has expired; please use a valid card or go to a staffed window.",
    ),
    "unsupported_card": (
        "暂不支持此类证件，请到人工窗口办理",
        "This kind of card is not accepted here; please go to a staffed window.",
    ),
    "read_failed": (
        "读卡失败，请将证件重新平放在读卡区",
        "The card could not be read; please lay it on the reader again.",
    ),
    "expired_warning": ("证件已过有效期，请尽快换领", "The card has expired; please renew it soon."),
}


class IdentitySettings(BaseModel):
    """The ``identity:`` config section (see /work/spec/devices-idcard.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_timeout_s: float = Field(default=60.0, gt=0, description="an unused session ends after this long")
    expired_card: Literal["refuse", "warn"] = "refuse"
    accepted_card_types: tuple[CardType, ...] = (
        CardType.RESIDENT, CardType.PERMIT_HMT, CardType.FOREIGNER_2017, CardType.FOREIGNER_2023,
    )
    end_after_ticket: bool = Field(default=False, description="end the session once a ticket was issued with it")


@dataclass(frozen=True)
class IdentityData:
    """What the queue keeps of a person (same fields as ``server.queue.entities.IdentityRef``)."""

    key_hash: str
    masked_id: str | None = None
    masked_name: str | None = None
    birth_date: dt.date | None = None


@dataclass
class IdentitySession:
    """An identity on a kiosk: masked forms and the keyed hash only."""

    session_id: str
    kiosk_id: str
    card_type: str
    identity: IdentityData
    age: int | None
    priority: str
    expired: bool
    tickets: list[int] = field(default_factory=list)
    timer: asyncio.Task[None] | None = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        """The masked data the kiosk may show (and events carry)."""
        data: dict[str, Any] = {
            "session_id": self.session_id,
            "kiosk": self.kiosk_id,
            "card_type": self.card_type,
            "masked_name": self.identity.masked_name,
            "masked_id": self.identity.masked_id,
            "age": self.age,
            "priority": self.priority,
            "expired": self.expired,
            "tickets": list(self.tickets),
        }
        if self.expired:
            data["warning"] = _reason("expired_warning")
        return data


def _reason(code: str) -> dict[str, str]:
    zh, en = REASONS[code]
    return {"code": code, "zh": zh, "en": en}


def kiosk_topic(kiosk_id: str) -> str:
    """The websocket topic of one kiosk."""
    return f"kiosk:{kiosk_id}"


class IdentityWiring:
    """Consumes ID-card readers' events per kiosk and keeps one identity session per kiosk."""

    def __init__(
        self,
        settings: IdentitySettings | None = None,
        *,
        secret: bytes | None = None,
        secret_path: str | Path = "var/secret.key",
        elderly_age: int | None = 65,
        today: Callable[[], dt.date] | None = None,
        kiosks: set[str] | None = None,
    ) -> None:
        self.settings = settings or IdentitySettings.model_validate({})
        self.kiosks = kiosks  # known kiosk ids (None: any)
        self.elderly_age = elderly_age
        self.today = today or dt.date.today
        self._secret = secret
        self._secret_path = Path(secret_path)
        self._key: bytes | None = None
        self.sessions: dict[str, IdentitySession] = {}
        self.readers: dict[str, Any] = {}
        self.queue: QueueOps | None = None
        self.publish: Publish | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._iterators: list[AsyncIterator[CardEvent]] = []

    @classmethod
    def from_config(cls, config: Any, settings: IdentitySettings | None = None, **kwargs: Any) -> IdentityWiring:
        """Built from a HallConfig: ``identity`` section (when present), policy.elderly_age, server.secret_path."""
        if settings is None:
            raw = getattr(config, "identity", None)
            settings = raw if isinstance(raw, IdentitySettings) else IdentitySettings.model_validate(
                raw.model_dump() if isinstance(raw, BaseModel) else (raw or {})
            )
        tz = getattr(getattr(config, "hall", None), "tz", None)
        kwargs.setdefault("today", (lambda: dt.datetime.now(tz).date()) if tz is not None else None)
        kwargs.setdefault("secret_path", config.server.secret_path)
        kwargs.setdefault("elderly_age", config.policy.elderly_age)
        kwargs.setdefault("kiosks", {k.id for k in config.kiosks} or None)
        return cls(settings, **kwargs)

    # --- Wiring protocol (server.devices.manager) -----------------------------------------------

    async def start(self, manager: Any) -> None:
        """Take queue/publish from the manager and follow every reader bound to a kiosk.

        ``manager`` needs ``queue``, ``publish`` and either ``devices_of_kind(kind)``
        (the DeviceManager) or ``readers`` (a mapping kiosk id → reader with ``events()``).
        """
        self.queue = manager.queue
        self.publish = manager.publish
        if hasattr(manager, "devices_of_kind"):
            pairs = [(cfg.kiosk, dev) for cfg, dev in manager.devices_of_kind(KIND) if cfg.kiosk]
        else:
            pairs = list(dict(getattr(manager, "readers", {})).items())
        self.attach(pairs)

    def attach(self, readers: Mapping[str, Any] | list[tuple[str, Any]]) -> None:
        """Start consuming the events of ``readers`` (kiosk id → reader; a kiosk may have several)."""
        for kiosk_id, reader in readers.items() if isinstance(readers, Mapping) else readers:
            self.readers.setdefault(kiosk_id, reader)
            events = reader.events()  # subscribe now, before the first card can arrive
            self._iterators.append(events)
            task = asyncio.get_running_loop().create_task(self._consume(kiosk_id, events), name=f"identity-{kiosk_id}")
            self._tasks.append(task)

    async def on_event(self, event: dict[str, Any]) -> None:
        """Queue events need nothing from this wiring."""

    async def stop(self) -> None:
        """Stop consuming; end every session."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for events in self._iterators:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        self._tasks.clear()
        self._iterators.clear()
        for kiosk_id in list(self.sessions):
            self.end_session(kiosk_id, "stopped")

    # --- card events ------------------------------------------------------------------------------

    async def _consume(self, kiosk_id: str, events: AsyncIterator[CardEvent]) -> None:
        async for event in events:
            try:
                self.handle_card_event(kiosk_id, event)
            except Exception:  # never log the event itself: it carries the card
                log.exception("kiosk %s: identity handling failed for a %s event", kiosk_id, event.kind)

    def handle_card_event(self, kiosk_id: str, event: CardEvent) -> None:
        """React to one reader event of a kiosk."""
        if event.kind == "placed" and isinstance(event.card, IdCard):
            self._card_placed(kiosk_id, event.card)
        elif event.kind == "removed":
            self.end_session(kiosk_id, "card_removed")
        elif event.kind == "read_failed":
            self._publish(READ_FAILED, kiosk_id, {"kiosk": kiosk_id, **_reason("read_failed")})

    def _card_placed(self, kiosk_id: str, card: IdCard) -> None:
        self.end_session(kiosk_id, "replaced")  # a new card is a new person
        today = self.today()
        refusal: str | None = None
        if card.card_type not in self.settings.accepted_card_types:
            refusal = "unsupported_card"
        elif card.number_problem(today) is not None:
            refusal = "invalid_number"
        elif card.is_expired(today) and self.settings.expired_card == "refuse":
            refusal = "card_expired"
        if refusal is not None:
            log.info("kiosk %s: card refused (%s, %s)", kiosk_id, refusal, card.card_type.value)
            self._publish(REFUSED, kiosk_id, {
                "kiosk": kiosk_id, "card_type": card.card_type.value, "masked_name": card.masked_name,
                "masked_id": card.masked_id, "reason": _reason(refusal),
            })
            return
        age = card.age(today)
        elderly = self.elderly_age is not None and age is not None and age >= self.elderly_age
        session = IdentitySession(
            session_id=secrets.token_urlsafe(12),
            kiosk_id=kiosk_id,
            card_type=card.card_type.value,
            identity=IdentityData(
                key_hash=key_hash(card.id_number, self.key),
                masked_id=card.masked_id,
                masked_name=card.masked_name,
                birth_date=card.birth_date,
            ),
            age=age,
            priority="priority" if elderly else "normal",
            expired=card.is_expired(today),
        )
        self.sessions[kiosk_id] = session
        self._arm_timer(session)
        log.info("kiosk %s: identity session %s opened", kiosk_id, session.session_id)
        self._publish(SESSION, kiosk_id, session.public())

    def _arm_timer(self, session: IdentitySession) -> None:
        if session.timer is not None:
            session.timer.cancel()

        async def expire() -> None:
            await asyncio.sleep(self.settings.session_timeout_s)
            if self.sessions.get(session.kiosk_id) is session:
                session.timer = None  # this task is ending; do not cancel it from end_session
                self.end_session(session.kiosk_id, "timeout")

        session.timer = asyncio.get_running_loop().create_task(expire(), name=f"identity-timeout-{session.kiosk_id}")

    # --- sessions ---------------------------------------------------------------------------------

    @property
    def key(self) -> bytes:
        """The identity hashing key (the secret file is created on first use)."""
        if self._key is None:
            secret = self._secret if self._secret is not None else load_or_create_secret(self._secret_path)
            self._key = identity_key(secret)
        return self._key

    def session(self, kiosk_id: str) -> IdentitySession | None:
        """The kiosk's current session."""
        return self.sessions.get(kiosk_id)

    async def kiosk_snapshot(self, kiosk_id: str) -> dict[str, Any]:
        """Websocket snapshot for topic ``kiosk:<id>``: ``{"session": masked session or None}``."""
        session = self.sessions.get(kiosk_id)
        return {"session": session.public() if session else None}

    def end_session(self, kiosk_id: str, reason: str = "ended") -> bool:
        """End the kiosk's session (card lifted, timeout, kiosk request); False when there was none."""
        session = self.sessions.pop(kiosk_id, None)
        if session is None:
            return False
        if session.timer is not None:
            session.timer.cancel()
        log.info("kiosk %s: identity session %s ended (%s)", kiosk_id, session.session_id, reason)
        self._publish(ENDED, kiosk_id, {"kiosk": kiosk_id, "session_id": session.session_id, "reason": reason})
        return True

    async def issue_with_session(
        self, kiosk_id: str, service: str, channel: str = "kiosk", *, queue: QueueOps | None = None
    ) -> dict[str, Any]:
        """Issue a ticket at a kiosk, bound to its identity session when there is one.

        ``queue`` defaults to the manager's. Per-person limits and refusals come from the
        queue (``HallqError`` propagates).
        """
        if self.kiosks is not None and kiosk_id not in self.kiosks:
            raise NotFound(f"没有此取号机：{kiosk_id}", f"Unknown kiosk: {kiosk_id}", code="unknown_kiosk",
                           kiosk=kiosk_id)
        queue = queue or self.queue
        if queue is None:
            raise Conflict("身份证取号服务未启动", "The identity service is not running", code="identity_unavailable")
        actor = f"kiosk:{kiosk_id}"
        session = self.sessions.get(kiosk_id)
        if session is None:
            return await queue.issue(service, channel=channel, kiosk=kiosk_id, actor=actor)
        ticket = await queue.issue(
            service, channel=channel, priority=session.priority, identity=session.identity, kiosk=kiosk_id,
            actor=actor,
        )
        if self.sessions.get(kiosk_id) is session:
            if isinstance(ticket.get("id"), int):
                session.tickets.append(ticket["id"])
            if self.settings.end_after_ticket:
                self.end_session(kiosk_id, "ticket_issued")
            else:
                self._arm_timer(session)  # the citizen is still busy at the kiosk
        return ticket

    def _publish(self, type_: str, kiosk_id: str, data: dict[str, Any]) -> None:
        if self.publish is None:
            return
        try:
            self.publish(type_, (kiosk_topic(kiosk_id),), data)
        except Exception:
            log.exception("publishing %s for kiosk %s failed", type_, kiosk_id)
