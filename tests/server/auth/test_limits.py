"""Sign-in brute force is slowed and locked (and stays locked across a restart); size and header guards."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from server.auth.limits import LoginPolicy, SlidingWindow, limit_issue, lock_remaining
from server.auth.service import AuthService, AuthSettings
from server.http.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware


def _try(client: TestClient, password: str, ip: str = "testclient") -> Any:
    return client.post("/api/auth/token", data={"username": "supervisor", "password": password})


def test_brute_force_is_slowed_then_locked(client: TestClient, app: Any) -> None:
    auth = app.state.services.auth
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    auth.sleep = record
    policy = auth.settings.login
    for i in range(policy.max_failures):
        r = _try(client, f"guess-{i}")
        assert r.status_code == 400, r.text
    # each failure made the next answer wait longer, up to the cap
    assert len(delays) == policy.max_failures
    assert delays == sorted(delays) and delays[-1] > delays[0] > 0 and max(delays) <= policy.delay_max
    r = _try(client, "supervisor-demo")  # even the right password is refused while locked
    assert r.status_code == 429 and r.json()["code"] == "login_locked"
    assert int(r.headers["Retry-After"]) > 0 and r.json()["retry_after"] > 0
    # the lockout lives in the database: a new service (a restart, another process) sees it
    fresh = AuthService(auth.engine, b"x" * 32, auth.settings, clock=auth.clock)
    with fresh.engine.connect() as conn:
        assert lock_remaining(conn, "supervisor", "testclient", fresh.now_ms(), policy) is not None
    # other accounts are unaffected
    assert client.post("/api/auth/token", data={"username": "admin", "password": "admin-demo"}).status_code == 200


def test_lock_ends_after_lockout_minutes(client: TestClient, app: Any) -> None:
    import datetime as dt

    auth = app.state.services.auth
    for i in range(auth.settings.login.max_failures):
        _try(client, f"guess-{i}")
    assert _try(client, "supervisor-demo").status_code == 429
    real = auth.clock
    auth.clock = lambda: real() + dt.timedelta(minutes=auth.settings.login.lockout_minutes, seconds=1)
    try:
        assert _try(client, "supervisor-demo").status_code == 200
    finally:
        auth.clock = real


def test_login_form_shows_lockout(client: TestClient, app: Any) -> None:
    for i in range(app.state.services.auth.settings.login.max_failures):
        r = client.post("/auth/login", data={"username": "clerk2", "password": f"nope-{i}", "window": "2"})
        assert r.status_code == 400 and "text/html" in r.headers["content-type"]
    r = client.post("/auth/login", data={"username": "clerk2", "password": "clerk2-demo", "window": "2"})
    assert r.status_code == 429 and "登录失败次数过多" in r.text


def test_sliding_window() -> None:
    w = SlidingWindow()
    assert [w.hit("k", 2, 10.0, t) for t in (0.0, 1.0)] == [None, None]
    wait = w.hit("k", 2, 10.0, 2.0)
    assert wait is not None and abs(wait - 8.0) < 1e-9
    assert w.hit("k", 2, 10.0, 10.5) is None  # the first hit left the window


def _small_app(settings: AuthSettings, max_body: int = 1024) -> tuple[FastAPI, list[float]]:
    from sqlalchemy import create_engine

    app = FastAPI()
    now = [0.0]
    # limit_issue reads only the auth service and the kiosk sessions of the app's services, and counts
    # hits through the hall's writer (HallService.write; inline here, as for SQLite)
    async def write(fn: Any, *args: Any) -> Any:
        return fn(*args)

    app.state.services = SimpleNamespace(
        auth=AuthService(create_engine("sqlite://"), b"s" * 32, settings, monotonic=lambda: now[0]), kiosks=None,
        hall=SimpleNamespace(write=write))

    @app.post("/issue", dependencies=[Depends(limit_issue)])
    async def issue(body: dict[str, Any]) -> dict[str, Any]:
        return body

    @app.get("/page")
    async def page() -> dict[str, str]:
        return {"ok": "yes"}

    from server.http.problems import install as problems

    problems(app)
    app.add_middleware(BodyLimitMiddleware, max_body=max_body)
    app.add_middleware(SecurityHeadersMiddleware)
    return app, now


def test_issue_rate_limit_per_address() -> None:
    app, now = _small_app(AuthSettings(ip_rate="3/60"))
    with TestClient(app) as c:
        assert [c.post("/issue", json={}).status_code for _ in range(3)] == [200, 200, 200]
        r = c.post("/issue", json={})
        assert r.status_code == 429 and r.json()["code"] == "rate_limited" and r.headers["Retry-After"] == "60"
        now[0] = 61.0
        assert c.post("/issue", json={}).status_code == 200


def test_issue_rate_limit_per_person() -> None:
    app, _ = _small_app(AuthSettings(ip_rate="100/60", person_rate="2/600"))

    class Session:
        key_hash = "ab" * 32

    class Sessions:  # the card sessions of server/kiosk/sessions.py: a card lies on k1 only
        async def session(self, kiosk: str) -> Any:
            return Session() if kiosk == "k1" else None

    app.state.services.kiosks = SimpleNamespace(sessions=Sessions())

    @app.post("/kiosks/{kiosk_id}/tickets", dependencies=[Depends(limit_issue)])
    async def kiosk_issue(kiosk_id: str) -> dict[str, str]:
        return {"kiosk": kiosk_id}

    with TestClient(app) as c:
        assert [c.post("/kiosks/k1/tickets").status_code for _ in range(2)] == [200, 200]
        r = c.post("/kiosks/k1/tickets")
        assert r.status_code == 429 and r.json()["limit"] == "person"
        assert c.post("/kiosks/k2/tickets").status_code == 200  # nobody's card on k2


def test_body_limit_and_security_headers() -> None:
    app, _ = _small_app(AuthSettings(), max_body=1024)
    with TestClient(app) as c:
        r = c.post("/issue", content=b'{"a": "' + b"x" * 2000 + b'"}', headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
        assert r.headers["x-content-type-options"] == "nosniff"

        def chunks() -> Any:
            yield b'{"a": "'
            for _ in range(10):
                yield b"x" * 200
            yield b'"}'

        r = c.post("/issue", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.post("/issue", json={"a": "small"}).status_code == 200
        r = c.get("/page")
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "http" not in csp
        assert r.headers["referrer-policy"] == "same-origin" and r.headers["x-frame-options"] == "DENY"


def test_login_policy_defaults_are_sane() -> None:
    p = LoginPolicy()
    assert 3 <= p.max_failures <= 10 and p.lockout_minutes >= 5 and p.account_max_failures > p.max_failures


def test_settings_from_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("HALLQ_AUTH_KIOSK_RATE", "600/60")
    monkeypatch.setenv("HALLQ_AUTH_ISSUE_LIMITS", "false")
    monkeypatch.setenv("HALLQ_AUTH_LOGIN_MAX_FAILURES", "3")
    s = AuthSettings()
    assert s.issue.per_kiosk == (600, 60.0) and s.issue.enabled is False and s.login.max_failures == 3
