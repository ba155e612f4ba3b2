"""Turning validation problems into ``path: message (line N)`` lines for the hall YAML."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import ValidationError

Loc = tuple[str | int, ...]


class HallConfigError(Exception):
    """The hall configuration is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{head}{len(self.problems)} problem(s) in the hall configuration:\n{lines}")


def format_loc(loc: Loc) -> str:
    """``("services", 3, "prefix")`` → ``services[3].prefix``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest YAML node that ``loc`` reaches (None without a tree)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if node is None:
            break
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    # an unknown key points at the key itself, a known one at its value
                    nxt = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def problem(root: yaml.Node | None, loc: Loc, message: str) -> str:
    """One problem line with its path and, when known, its line."""
    line = line_of(root, loc)
    suffix = f" (line {line})" if line is not None else ""
    return f"{format_loc(loc)}: {message}{suffix}"


def _clean_loc(loc: Sequence[Any]) -> Loc:
    # pydantic adds validator names (e.g. "function-before[...]") into unions; drop them
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in str(p) and "-" not in str(p)))


def from_validation(root: yaml.Node | None, exc: ValidationError) -> list[str]:
    """Every pydantic error as a problem line."""
    out = []
    for err in exc.errors(include_url=False):
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        out.append(problem(root, _clean_loc(err["loc"]), msg))
    return out
