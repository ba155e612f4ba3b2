"""API fuzzing with schemathesis against the OpenAPI document of a live server (bounded).

Every operation gets a few generated requests (as the demo admin, then anonymously);
none may answer 500, and every answer must match the documented status codes, content
types and schemas.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from server.auth.service import AuthSettings

MAX_EXAMPLES = 15
# These would end the fuzzer's own credentials (password change/reset bumps the account epoch).
SKIP = {("POST", "/api/auth/password"), ("POST", "/api/accounts/{account_id}/password")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run the app with uvicorn on 127.0.0.1 in a thread."""
    import uvicorn

    from tests.conftest import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.mark.timeout(300)
def test_fuzz_openapi(app: Any) -> None:
    import requests

    with serve(app) as base:
        auth = app.state.services.auth

        async def no_sleep(_: float) -> None:
            return None

        auth.sleep = no_sleep
        auth.settings = AuthSettings(issue_limits=False)
        token = requests.post(f"{base}/api/auth/token", data={"username": "admin", "password": "admin-demo"},
                              timeout=10).json()["access_token"]
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        failures: list[str] = []
        operations = 0
        session = requests.Session()
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) in SKIP:
                continue
            operations += 1

            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):  # valid, then invalid requests

                @given(case=operation.as_strategy(mode))
                @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                def run(case: Any) -> None:
                    for headers in ({"Authorization": f"Bearer {token}"}, {}):
                        case.call_and_validate(base_url=base, session=session, headers=headers, checks=CHECKS,
                                               timeout=20)

                try:
                    run()
                except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                    continue
                except (Exception, BaseExceptionGroup) as exc:  # collect every failure, then report them all
                    failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
        assert operations >= 10
        assert failures == [], "\n\n".join(failures)
