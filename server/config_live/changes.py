"""A change to the configuration: JSON merge patch (RFC 7386), validation with paths, and the diff."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from server.config import HallConfig, cross_check
from server.configerrors import format_loc
from server.errors import HallqError

MAX_DIFF = 200  # entries kept in one audit record


class ConfigInvalid(HallqError):
    """422 ``config_invalid``: ``problems`` lists every problem as ``{"path", "message"}``; nothing was applied."""

    status = 422
    default_code = "config_invalid"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(code="config_invalid", problems=problems)
        self.problems = problems


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _clean(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    # pydantic puts validator names ("function-before[...]") into the location: drop them
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in str(p) and "-" not in str(p)))


def validate(document: Any) -> HallConfig:
    """The configuration of ``document`` by the YAML's schema and cross checks; ``ConfigInvalid`` with every problem."""
    if not isinstance(document, dict):
        raise ConfigInvalid([{"path": "(top level)", "message": "expected an object (hall, services, windows …)"}])
    try:
        config = HallConfig.model_validate(document)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append({"path": format_loc(_clean(err["loc"])), "message": message})
        raise ConfigInvalid(problems) from None
    crossed = [{"path": format_loc(loc), "message": msg} for loc, msg in cross_check(config)]
    if crossed:
        raise ConfigInvalid(crossed)
    return config


def diff(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """Every changed leaf as ``{"path", "old", "new"}`` (a missing side is absent from the entry)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            if key not in new:
                out.append({"path": format_loc((*path, key)), "old": old[key]})
            elif key not in old:
                out.append({"path": format_loc((*path, key)), "new": new[key]})
            else:
                out.extend(diff(old[key], new[key], (*path, key)))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            if i >= len(new):
                out.append({"path": format_loc((*path, i)), "old": old[i]})
            elif i >= len(old):
                out.append({"path": format_loc((*path, i)), "new": new[i]})
            else:
                out.extend(diff(old[i], new[i], (*path, i)))
        return out
    return [] if old == new else [{"path": format_loc(path), "old": old, "new": new}]


def restart_needed(old: HallConfig, new: HallConfig) -> list[str]:
    """Sections that take effect only when the processes owning them restart (devices, server settings)."""
    out = []
    if old.devices != new.devices:
        out.append("devices")
    if old.server != new.server:
        out.append("server")
    if old.monitoring != new.monitoring:
        out.append("monitoring")
    return out
