"""What each caller may see of a ticket: public screens get numbers, never identities.

Ticket views carry ``masked_id`` (region code and last four digits of the ID number) and
``masked_name``. Those are personal information: only staff (the clerk console and the
supervisor) see them, plus a kiosk for the card placed on its own reader (topic ``kiosk:<id>``).
"""

from __future__ import annotations

import re
from typing import Any

from server.auth.roles import STAFF, Principal

IDENTITY_FIELDS = frozenset({"masked_id", "masked_name"})


def sees_identity(principal: Principal | None) -> bool:
    """True when ``principal`` may see masked ID numbers and names of tickets."""
    return principal is not None and principal.role in STAFF and not principal.must_change_password


def redact_identity(value: Any) -> Any:
    """``value`` (JSON-like) without any masked ID number or name, at any depth."""
    if isinstance(value, dict):
        return {k: redact_identity(v) for k, v in value.items() if k not in IDENTITY_FIELDS}
    if isinstance(value, list | tuple):
        return [redact_identity(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return redact_identity(to_dict())
    return value


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:\s]*)(?::[^/@\s]*)?@")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:password|passwd|pwd|pass|token|secret|key|auth)=)[^&#\s]*")


def mask_url(text: str | None) -> str | None:
    """``rtsp://admin:S3cret@cam/stream?token=x`` → ``rtsp://admin:***@cam/stream?token=***`` (also inside messages)."""
    if not text:
        return text
    masked = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@" if m["user"] else f"{m['scheme']}***@", text)
    return _SECRET_QUERY.sub(r"\1***", masked)


def mask_device_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A device entry (``/api/devices``, ws ``devices``) with credentials masked in its URL and health detail."""
    out = dict(entry)
    if isinstance(out.get("url"), str):
        out["url"] = mask_url(out["url"])
    health = out.get("health")
    if isinstance(health, dict) and isinstance(health.get("detail"), str):
        out["health"] = {**health, "detail": mask_url(health["detail"])}
    return out


_TICKET_LINK = re.compile(r"/t/[A-Za-z0-9_-]+")


def strip_ticket_links(value: Any) -> Any:
    """``value`` (JSON-like) with every ``/t/<token>`` link cut to ``/t/***`` (a token is its holder's key)."""
    if isinstance(value, str):
        return _TICKET_LINK.sub("/t/***", value)
    if isinstance(value, dict):
        return {k: strip_ticket_links(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strip_ticket_links(v) for v in value]
    return value
