"""Secrets in the configuration as admins see it: the database password is shown as ``***``, never sent out.

A document coming back (a PATCH with the whole config, an imported YAML that was exported
masked) carrying the masked value keeps the stored secret, so reading, editing and saving the
configuration never loses or leaks the password.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (unchanged when it has none or is not a URL)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def mask(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a configuration document with its secrets masked."""
    out = copy.deepcopy(document)
    server = out.get("server")
    if isinstance(server, dict) and isinstance(server.get("database_url"), str):
        server["database_url"] = masked_url(server["database_url"])
    return out


def unmask(document: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each masked secret that equals the current one's mask put back to the current value."""
    server, now = document.get("server"), current.get("server")
    if not isinstance(server, dict) or not isinstance(now, dict):
        return document
    url, real = server.get("database_url"), now.get("database_url")
    if isinstance(url, str) and isinstance(real, str) and url != real and url == masked_url(real):
        document = {**document, "server": {**server, "database_url": real}}
    return document
