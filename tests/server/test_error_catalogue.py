"""Every error code the server can answer with is in ``server.errors.CATALOGUE``, in Chinese and English.

The source of ``server/`` is scanned (ast) for the places a code is named: ``code="…"``
arguments of error constructors, ``default_code`` of error classes, ``{"code": "…"}``
messages (websocket errors, the 413 answer), ``conn.error("…", …)`` and
``problem_response(status, "…", …)`` calls, ``code = "…"`` in the problem handler and
refusal tables named ``REASONS``. The problem answers of a running app are checked too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.errors import CATALOGUE, Forbidden, HallqError, NotFound, RateLimited, Unauthenticated, Unavailable
from tests.support import DEMO_KIOSK_K1, demo_bearer, make_app

SERVER = Path(__file__).resolve().parents[2] / "server"
CJK = re.compile(r"[\u4e00-\u9fff]")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"), str(p))) for p in sorted(SERVER.rglob("*.py"))]


def _error_classes(trees: list[tuple[Path, ast.Module]]) -> set[str]:
    """Names of every HallqError subclass defined in server/ (by base names, to a fixpoint)."""
    known = {"HallqError"}
    classes = [node for _, tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    while True:
        more = {c.name for c in classes if c.name not in known and any(_name(b) in known for b in c.bases)}
        if not more:
            return known
        known |= more


def used_codes() -> dict[str, list[str]]:
    """Every code named in server/, with the places it is named (``path:line``)."""
    trees = _trees()
    errors = _error_classes(trees)
    found: dict[str, list[str]] = {}

    def add(code: str | None, path: Path, node: ast.AST) -> None:
        if code is not None:
            where = f"{path.relative_to(SERVER.parent)}:{getattr(node, 'lineno', 0)}"
            found.setdefault(code, []).append(where)

    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _name(node.func)
                if name in errors or (name[:1].isupper() and name.endswith(("Error", "Refused", "Conflict"))):
                    for kw in node.keywords:
                        if kw.arg == "code":
                            add(_str(kw.value), path, node)
                if name == "error" and len(node.args) >= 3 and CODE.match(_str(node.args[0]) or ""):
                    add(_str(node.args[0]), path, node)  # a websocket connection's error(code, zh, en)
                if name == "problem_response" and len(node.args) >= 2:
                    add(_str(node.args[1]), path, node)
            elif isinstance(node, ast.ClassDef) and node.name in errors:
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign | ast.AnnAssign):
                        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
                        if isinstance(target, ast.Name) and target.id == "default_code":
                            add(_str(stmt.value), path, stmt)
            elif isinstance(node, ast.Dict):
                keys = [_str(k) for k in node.keys]
                if "code" in keys and ({"zh", "en", "type", "detail"} & set(filter(None, keys))):
                    add(_str(node.values[keys.index("code")]), path, node)
            elif isinstance(node, ast.Assign):
                target, value = node.targets[0], node.value
                if isinstance(target, ast.Name) and target.id == "code":
                    add(_str(value), path, node)
                elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and target.elts:
                    first = target.elts[0]
                    if isinstance(first, ast.Name) and first.id == "code" and value.elts:
                        add(_str(value.elts[0]), path, node)
                elif isinstance(target, ast.Name) and target.id == "REASONS" and isinstance(value, ast.Dict):
                    for key in value.keys:
                        add(_str(key), path, node)
            elif (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                  and node.target.id == "REASONS" and isinstance(node.value, ast.Dict)):
                for key in node.value.keys:
                    add(_str(key), path, node)
    return found


def test_the_scan_finds_codes_of_every_kind() -> None:
    """Guard the scanner itself: codes named each way are found."""
    found = used_codes()
    for code in ("unknown_window", "window_busy", "csrf_failed", "rate_limited", "payload_too_large",
                 "invalid_topic", "internal_error", "method_not_allowed", "daily_limit_reached"):
        assert code in found, code


def test_every_code_used_in_the_server_is_catalogued() -> None:
    missing = {code: places for code, places in used_codes().items() if code not in CATALOGUE}
    assert not missing, f"add these codes to server/errors.py CATALOGUE: {missing}"


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_catalogue_entries_are_bilingual(code: str) -> None:
    zh, en = CATALOGUE[code]
    assert CODE.match(code), code
    assert CJK.search(zh), f"{code}: the Chinese text has no Chinese: {zh!r}"
    assert en.strip() and not CJK.search(en), f"{code}: the English text is empty or not English: {en!r}"


@pytest.mark.parametrize("cls", [HallqError, Unauthenticated, Forbidden, NotFound, RateLimited, Unavailable])
def test_an_error_named_by_code_only_takes_its_text_from_the_catalogue(cls: type[HallqError]) -> None:
    error = cls()
    assert (error.zh, error.en) == CATALOGUE[error.code]
    named = cls(code="wrong_kiosk")
    assert (named.code, named.zh, named.en) == ("wrong_kiosk", *CATALOGUE["wrong_kiosk"])


def _problems(client: TestClient) -> list[tuple[str, Any]]:
    admin = demo_bearer(client, "admin")
    answers = [
        ("unknown route", client.get("/api/nothing-here")),
        ("wrong method", client.delete("/api/hall")),
        ("invalid body", client.post("/api/tickets", json={"service": 5}, headers=admin)),
        ("signed out", client.get("/api/audit")),
        ("wrong role", client.get("/api/audit", headers=DEMO_KIOSK_K1)),
        ("unknown window", client.post("/api/windows/99/open", json={}, headers=admin)),
        ("unknown service", client.post("/api/tickets", json={"service": "nosuch"}, headers=admin)),
        ("window not open", client.post("/api/windows/1/call-next", headers=admin)),
        ("bad sign-in", client.post("/api/auth/token", data={"username": "admin", "password": "wrong"})),
        ("too large", client.post("/api/tickets", content=b"{" + b" " * 200_000 + b"}", headers={
            **admin, "content-type": "application/json"})),
    ]
    return answers


def test_every_problem_answer_has_a_catalogued_code_and_both_languages(tmp_path: Path, hall_config: Any) -> None:
    with TestClient(make_app(tmp_path, hall_config), raise_server_exceptions=False) as client:
        for what, response in _problems(client):
            assert response.status_code >= 400, what
            assert response.headers["content-type"].startswith("application/problem+json"), what
            body = response.json()
            assert body["code"] in CATALOGUE, (what, body)
            assert CJK.search(body["zh"]) and body["en"], (what, body)
            assert body["status"] == response.status_code, (what, body)
