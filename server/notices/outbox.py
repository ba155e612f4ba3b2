"""The stored side of notices: contacts (the full number, until erased) and the ``notices`` outbox.

States of a notice: ``queued`` → ``sending`` (claimed by one sender until ``claim_until``) →
``sent`` (→ ``delivered`` when the modem's status report says so); a failed attempt →
``retrying`` with ``next_attempt_at`` pushed back; the last allowed attempt failing, or the
gateway refusing the message itself → ``failed`` with ``last_error`` (visible to supervisors,
``retry`` puts it back); ``cancelled`` when the contact is forgotten first. Claims are
conditional updates, so any number of senders (workers, a device host) may run: a notice is
sent by exactly one. All functions are synchronous and take a SQLAlchemy connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from server.store.tables import notice_contacts, notices

STATES = ("queued", "sending", "sent", "delivered", "retrying", "failed", "cancelled")
RETRYABLE = ("queued", "retrying")
OPEN = ("queued", "sending", "retrying")
n = notices.c
k = notice_contacts.c


@dataclass(frozen=True, slots=True)
class Notice:
    """One outbox row (never the full number)."""

    id: int
    key: str
    kind: str
    text: str
    masked: str
    channel: str
    state: str
    attempts: int
    next_attempt_at: int
    last_error: str | None
    refs: str | None
    created_at: int
    sent_at: int | None
    delivered_at: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict for the supervisors' list."""
        return {"id": self.id, "key": self.key, "kind": self.kind, "text": self.text, "masked": self.masked,
                "channel": self.channel, "state": self.state, "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at, "last_error": self.last_error, "refs": self.refs,
                "created_at": self.created_at, "sent_at": self.sent_at, "delivered_at": self.delivered_at}


def _notice(row: Any) -> Notice:
    return Notice(row.id, row.key, row.kind, row.text, row.masked, row.channel, row.state, row.attempts,
                  row.next_attempt_at, row.last_error, row.refs, row.created_at, row.sent_at, row.delivered_at)


# --- contacts --------------------------------------------------------------------------------


def remember(conn: Connection, key: str, phone: str, masked: str, phone_hash: str, *, ticket_id: int | None,
             now_ms: int, erase_at: int | None = None) -> None:
    """Keep ``phone`` (sealed) for ``key``, replacing an earlier number; erased at ``erase_at`` at the latest."""
    conn.execute(delete(notice_contacts).where(k.key == key))
    conn.execute(insert(notice_contacts), {"key": key, "phone": phone, "masked": masked, "phone_hash": phone_hash,
                                           "ticket_id": ticket_id, "created_at": now_ms, "erase_at": erase_at})


def contact(conn: Connection, key: str) -> Any | None:
    """The contact row of ``key`` (with the full number unless erased), or None."""
    return conn.execute(select(notice_contacts).where(k.key == key)).first()


def contacts_of_tickets(conn: Connection) -> list[Any]:
    """Contacts of tickets whose number is still kept (the watcher's list)."""
    return list(conn.execute(select(notice_contacts).where(k.ticket_id.is_not(None), k.phone.is_not(None),
                                                           k.erase_at.is_(None))))


_WATCH = select(k.key, k.ticket_id, k.erase_at).where(
    k.phone.is_not(None),
    or_(k.key.in_(bindparam("keys", expanding=True)), and_(k.ticket_id.is_not(None), k.erase_at.is_(None))))


def watch(conn: Connection, keys: list[str]) -> tuple[set[str], list[int]]:
    """(those of ``keys`` that keep a number, the tickets whose number is still kept): the event watcher's one read."""
    wanted, kept, watched = set(keys), set(), []
    for row in conn.execute(_WATCH, {"keys": list(wanted)}):
        if row.key in wanted:
            kept.add(str(row.key))
        if row.ticket_id is not None and row.erase_at is None:
            watched.append(int(row.ticket_id))
    return kept, watched


def release(conn: Connection, key: str, *, erase_at: int) -> None:
    """The notices of ``key`` are done: erase the full number from ``erase_at`` on (an earlier time stays)."""
    conn.execute(update(notice_contacts)
                 .where(k.key == key, k.phone.is_not(None), or_(k.erase_at.is_(None), k.erase_at > erase_at))
                 .values(erase_at=erase_at))


def forget(conn: Connection, key: str, *, now_ms: int) -> int:
    """Cancel the open notices of ``key`` and erase its number now; how many notices were cancelled."""
    cancelled = conn.execute(update(notices).where(n.key == key, n.state.in_(RETRYABLE))
                             .values(state="cancelled", last_error="forgotten")).rowcount
    conn.execute(update(notice_contacts).where(k.key == key)
                 .values(phone=None, erase_at=now_ms, erased_at=now_ms))
    return int(cancelled or 0)


TICKET_KEEP_MS = 2 * 24 * 3_600_000  # a ticket that never ended (a crash, a lost event): erased after two days


def erase_due(conn: Connection, *, now_ms: int) -> int:
    """Erase every number whose time has come and that no open notice still needs; how many."""
    pending = select(n.key).where(n.state.in_(OPEN))
    due_now = or_(and_(k.erase_at.is_not(None), k.erase_at <= now_ms),
                  and_(k.ticket_id.is_not(None), k.created_at < now_ms - TICKET_KEEP_MS))
    result = conn.execute(update(notice_contacts)
                          .where(k.phone.is_not(None), due_now, k.key.not_in(pending))
                          .values(phone=None, erased_at=now_ms))
    return int(result.rowcount or 0)


# --- the outbox ----------------------------------------------------------------------------------


def enqueue(conn: Connection, *, key: str, kind: str, text: str, masked: str, channel: str, dedup: str | None,
            now_ms: int) -> int | None:
    """Queue one notice; None when ``dedup`` was queued before (by any process)."""
    try:
        with conn.begin_nested():
            result = conn.execute(insert(notices), {
                "dedup": dedup, "key": key, "kind": kind, "text": text, "masked": masked, "channel": channel,
                "state": "queued", "attempts": 0, "next_attempt_at": now_ms, "created_at": now_ms})
    except IntegrityError:
        return None
    pk = result.inserted_primary_key
    return int(pk[0]) if pk else None


def due(conn: Connection, *, channel: str, now_ms: int, limit: int) -> list[int]:
    """Ids a sender of ``channel`` may claim now (due ones, and claims whose lease ran out)."""
    rows = conn.execute(
        select(n.id).where(n.channel == channel,
                           or_(and_(n.state.in_(RETRYABLE), n.next_attempt_at <= now_ms),
                               and_(n.state == "sending", n.claim_until < now_ms)))
        .order_by(n.next_attempt_at, n.id).limit(limit)
    ).scalars()
    return list(rows)


def claim(conn: Connection, notice_id: int, *, sender: str, now_ms: int, lease_ms: int) -> tuple[Notice, str] | None:
    """Claim one notice for ``sender``: (notice, sealed number); None when another has it or the number is gone."""
    result = conn.execute(
        update(notices)
        .where(n.id == notice_id,
               or_(and_(n.state.in_(RETRYABLE), n.next_attempt_at <= now_ms),
                   and_(n.state == "sending", n.claim_until < now_ms)))
        .values(state="sending", claimed_by=sender, claim_until=now_ms + lease_ms, attempts=n.attempts + 1)
    )
    if result.rowcount != 1:
        return None
    row = conn.execute(select(notices).where(n.id == notice_id)).one()
    phone = conn.execute(select(k.phone).where(k.key == row.key)).scalar()
    if not phone:
        conn.execute(update(notices).where(n.id == notice_id)
                     .values(state="cancelled", claimed_by=None, claim_until=None, last_error="number erased"))
        return None
    return _notice(row), str(phone)


def settle(conn: Connection, notice_id: int, *, sender: str, state: str, now_ms: int, error: str | None = None,
           retry_at: int | None = None, refs: str | None = None) -> bool:
    """Record the outcome of a claimed send (only its sender may); False when the claim was lost."""
    values: dict[str, Any] = {"state": state, "claimed_by": None, "claim_until": None,
                              "last_error": error[:400] if error else None}
    if state == "sent":
        values["sent_at"] = now_ms
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    if refs is not None:
        values["refs"] = refs[:64]
    result = conn.execute(update(notices).where(n.id == notice_id, n.state == "sending", n.claimed_by == sender)
                          .values(**values))
    return result.rowcount == 1


def delivered(conn: Connection, ref: int, *, delivered_ok: bool, status: int, now_ms: int,
              since_ms: int) -> int | None:
    """Match a modem status report to the newest sent notice quoting TP-MR ``ref``; its id."""
    rows = conn.execute(select(n.id, n.refs).where(n.channel == "modem", n.state == "sent", n.sent_at >= since_ms)
                        .order_by(n.sent_at.desc()).limit(200)).all()
    for notice_id, refs in rows:
        if refs and str(ref) in refs.split(","):
            values: dict[str, Any] = {"state": "delivered", "delivered_at": now_ms} if delivered_ok else {
                "state": "failed", "last_error": f"delivery report: status 0x{status:02X}"}
            conn.execute(update(notices).where(n.id == notice_id).values(**values))
            return int(notice_id)
    return None


def retry(conn: Connection, notice_id: int, *, now_ms: int) -> bool:
    """Put a failed notice back in the queue now (its number must still be kept)."""
    result = conn.execute(update(notices).where(n.id == notice_id, n.state == "failed")
                          .values(state="queued", next_attempt_at=now_ms, attempts=0))
    return result.rowcount == 1


def get(conn: Connection, notice_id: int) -> Notice | None:
    """One notice."""
    row = conn.execute(select(notices).where(n.id == notice_id)).first()
    return _notice(row) if row is not None else None


def counts(conn: Connection) -> dict[str, int]:
    """Notices per state (every state present)."""
    found = {state: c for state, c in conn.execute(select(n.state, func.count()).group_by(n.state))}
    return {state: int(found.get(state, 0)) for state in STATES}


def listing(conn: Connection, *, state: str | None = None, key: str | None = None, limit: int = 100) -> list[Notice]:
    """The newest notices, optionally of one state or one key."""
    query = select(notices).order_by(n.id.desc()).limit(limit)
    if state is not None:
        query = query.where(n.state == state)
    if key is not None:
        query = query.where(n.key == key)
    return [_notice(row) for row in conn.execute(query)]
