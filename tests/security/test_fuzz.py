"""Fuzzing: schemathesis over the whole API as every role (no 500), and the websocket protocol with
hypothesis (random JSON and non-JSON frames, random topics: an ``error`` answer or a close, never a
server exception).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from starlette.websockets import WebSocketDisconnect

from server.auth.service import AuthSettings

from .conftest import DEVICE, Live, live_token

MAX_EXAMPLES = 3  # per operation and role: bounded for CI
# These would end the fuzzer's own credentials (password change/reset bumps the account epoch).
SKIP = {("POST", "/api/auth/password"), ("POST", "/api/accounts/{account_id}/password"),
        ("PATCH", "/api/accounts/{account_id}"), ("POST", "/api/devices/tokens/{token_id}/revoke")}
ROLES = ("kiosk", "display_w1", "device", "clerk", "supervisor", "citizen")


def _headers(live: Live, role: str) -> dict[str, str]:
    if role in DEVICE:
        return DEVICE[role]
    if role == "clerk":
        return live_token(live, "clerk1", window=1)
    if role == "citizen":
        r = requests.post(f"{live.url}/api/tickets", headers=live_token(live, "clerk1", window=1),
                          json={"service": "general"}, timeout=10)
        assert r.status_code == 201, r.text
        return {"X-Ticket-Token": r.json()["token"]}
    return live_token(live, role)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("role", ROLES)
def test_no_500_for_any_role(live: Live, role: str) -> None:
    live.app.state.services.auth.settings = AuthSettings(issue_limits=False)
    headers = _headers(live, role)
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    session = requests.Session()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        operations += 1

        @given(case=operation.as_strategy(GenerationMode.POSITIVE))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(base_url=live.url, session=session, headers=headers,
                                   checks=[not_a_server_error], timeout=20)

        try:
            run()
        except Unsatisfiable:
            continue
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{role} {operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    assert operations >= 10
    assert failures == [], "\n\n".join(failures)


# -- websocket protocol ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
topics = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["hall", "window:", "ticket:", "kiosk:", "devices", "alerts", "cameras", "host"]).flatmap(
        lambda p: st.builds(lambda a: p + a, st.text(max_size=24))),
    st.builds(lambda n: f"ticket:{n}", st.integers()),
    st.builds(lambda n: f"window:{n}", st.integers()),
)
messages = st.one_of(
    st.builds(lambda op, ts, extra: json.dumps({"op": op, "topics": ts, **extra}),
              st.sampled_from(["subscribe", "unsubscribe", "ping", "nope"]), st.lists(topics, max_size=8),
              st.dictionaries(st.sampled_from(["ticket_token", "x"]), json_values, max_size=2)),
    st.builds(json.dumps, json_values),
    st.text(max_size=200),
    st.binary(max_size=200),
)


# CI: 60 connections; the long run: HALLQ_WS_FUZZ_EXAMPLES=10000 (each a fresh connection of 1–6 messages)
WS_EXAMPLES = int(os.environ.get("HALLQ_WS_FUZZ_EXAMPLES", "60"))
WS_FED = {"connections": 0, "frames": 0, "closed_by_server": 0}  # printed as JSON when the module's app stops


@settings(max_examples=WS_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(frames=st.lists(messages, min_size=1, max_size=6))
def test_websocket_fuzz_answers_error_or_closes(ws_client: TestClient, frames: list[Any],
                                                caplog_errors: list[logging.LogRecord]) -> None:
    WS_FED["connections"] += 1
    WS_FED["frames"] += len(frames)
    try:
        with ws_client.websocket_connect("/ws") as ws:
            for frame in frames:
                if isinstance(frame, bytes):
                    ws.send_bytes(frame)
                else:
                    ws.send_text(frame)
            ws.send_text('{"op":"ping"}')
            for _ in range(200):
                message = ws.receive_json()
                assert message["type"] in ("snapshot", "error", "pong", "resync") or "." in message["type"]
                if message["type"] == "pong":
                    break
    except WebSocketDisconnect as exc:
        WS_FED["closed_by_server"] += 1
        assert exc.code in (1000, 1008, 1009, 4401, 1013), exc.code
    assert caplog_errors == [], [r.getMessage() for r in caplog_errors]


@pytest.fixture(scope="module")
def ws_client(tmp_path_factory: pytest.TempPathFactory, demo_config: Any) -> Any:
    """One started app for all fuzz examples (hypothesis runs many in one test)."""
    from tests.support import make_app

    from .conftest import config_in

    tmp = tmp_path_factory.mktemp("wsfuzz")
    app = make_app(tmp, config_in(tmp, demo_config))
    with TestClient(app, raise_server_exceptions=True) as c:
        app.state.services.auth.settings = AuthSettings(ws_message_rate="10000/1")
        yield c
    print(json.dumps({"websocket_fuzz": {"examples_setting": WS_EXAMPLES, **WS_FED}}))


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def caplog_errors() -> Any:
    """ERROR records logged anywhere while the fuzz runs (a server exception logs one)."""
    handler = _Errors()
    logging.getLogger().addHandler(handler)
    yield handler.records
    logging.getLogger().removeHandler(handler)
