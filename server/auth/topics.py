"""Who may follow which websocket topic.

Public screens need ``hall``, ``window:<n>`` and ``ticket:<id>`` (masked data, tokens
stripped). Device health, alerts and camera analytics are for supervisors; a kiosk's
identity session (masked name and ID of the citizen at that kiosk) is for that kiosk.
"""

from __future__ import annotations

from server.auth.roles import MANAGERS, Principal, Role

PUBLIC_PREFIXES = ("hall", "window", "ticket")
MANAGER_TOPICS = ("devices", "alerts", "cameras")


def may_subscribe(principal: Principal | None, topic: str) -> bool:
    """True when ``principal`` (None = anonymous) may receive ``topic``."""
    prefix, _, arg = topic.partition(":")
    if prefix in PUBLIC_PREFIXES:
        return True
    if principal is None:
        return False
    if principal.role in MANAGERS:
        return True
    if prefix == "kiosk":
        return principal.role is Role.KIOSK and principal.kiosk == arg
    return False
