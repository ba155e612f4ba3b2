"""Who may follow which websocket topic, and which topics exist at all.

Only canonical topics are accepted: ``hall``, ``window:<n>`` for a configured window,
``ticket:<id>`` (``id`` of 1–10 digits), ``kiosk:<id>`` for a configured kiosk, and the
bare manager topics ``devices``, ``alerts`` and ``cameras``; device hosts also follow ``host``.
Anything else is ``invalid_topic`` (so no one can make the server build snapshots of
made-up topics).

Public screens need ``hall`` and ``window:<n>`` (numbers only: identities are removed, see
``server/auth/disclosure.py``). ``ticket:<id>`` is for the ticket's holder (the subscribe
message carries its ``ticket_token``), staff and device hosts: ids can be counted through.
Device health, alerts and camera analytics are for supervisors; a kiosk's identity session
(masked name and ID of the citizen at that kiosk) is for that kiosk. Accounts that must still
change their one-time password count as anonymous.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from server.auth.roles import MANAGERS, STAFF, Principal, Role

PUBLIC_TOPICS = ("hall", "window")
MANAGER_TOPICS = ("devices", "alerts", "cameras")
DEVICE_TOPICS = ("host",)
RESTRICTED_PREFIXES = frozenset({*MANAGER_TOPICS, *DEVICE_TOPICS, "kiosk"})
_NUMBER = re.compile(r"^[0-9]{1,10}$")
_KIOSK = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_ID = 2**31 - 1


def _effective(principal: Principal | None) -> Principal | None:
    if principal is not None and principal.must_change_password:
        return None
    return principal


def topic_error(topic: str, config: Any = None) -> str | None:
    """``invalid_topic`` when ``topic`` is not a canonical topic of this hall, else None."""
    prefix, sep, arg = topic.partition(":")
    if prefix in (*MANAGER_TOPICS, *DEVICE_TOPICS) or (prefix == "hall"):
        return None if not sep else "invalid_topic"
    if prefix in ("window", "ticket"):
        if not _NUMBER.match(arg) or not 1 <= int(arg) <= MAX_ID:
            return "invalid_topic"
        if prefix == "window" and config is not None and int(arg) not in getattr(config, "window_map", {}):
            return "invalid_topic"
        return None
    if prefix == "kiosk":
        if not _KIOSK.match(arg):
            return "invalid_topic"
        kiosks = {k.id for k in getattr(config, "kiosks", ())} if config is not None else set()
        return None if not kiosks or arg in kiosks else "invalid_topic"
    return "invalid_topic"


def may_subscribe(principal: Principal | None, topic: str, tickets: Collection[int] = ()) -> bool:
    """True when ``principal`` (None = anonymous) may receive ``topic``; ``tickets``: ids whose token was shown."""
    principal = _effective(principal)
    prefix, _, arg = topic.partition(":")
    if prefix in PUBLIC_TOPICS:
        return True
    if prefix == "ticket":
        if arg.isdigit() and int(arg) in tickets:
            return True
        return principal is not None and (principal.role in STAFF or principal.role is Role.DEVICE)
    if principal is None:
        return False
    if prefix in DEVICE_TOPICS:
        return principal.role is Role.DEVICE or principal.role in MANAGERS
    if principal.role in MANAGERS:
        return True
    if prefix == "kiosk":
        return principal.role is Role.KIOSK and principal.kiosk == arg
    return False


def restricted(topic: str) -> bool:
    """True for topics not everyone may follow (an event carrying one is filtered per connection)."""
    return topic.partition(":")[0] in RESTRICTED_PREFIXES


def may_receive(principal: Principal | None, topics: Iterable[str], tickets: Collection[int] = (),
                type_: str = "") -> bool:
    """True when an event on ``topics`` may go to ``principal``.

    An event that carries a restricted topic (an alert on ``alerts`` and ``window:3``) reaches only
    those entitled to one of its restricted topics, whatever public topic they matched it by (a
    kiosk gets its printer's health on ``devices`` + ``kiosk:k1``); alerts go to managers only.
    """
    if type_.startswith("alert.") and not may_subscribe(principal, "alerts"):
        return False
    if type_ == "window.notice":  # a supervision notice for the clerk console (server/alerts/inbox.py)
        staff = _effective(principal)
        if staff is None or staff.role not in STAFF:
            return False  # never the public window screen
    guarded = [t for t in topics if restricted(t)]
    return not guarded or any(may_subscribe(principal, t, tickets) for t in guarded)
