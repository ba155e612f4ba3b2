"""Bearer tokens, page sessions, CSRF, expiry, first start and password change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from server.auth import ensure_first_admin
from server.auth.sessions import CSRF_COOKIE, SESSION_COOKIE


def test_token_me_and_bad_password(client: TestClient, bearer: Any) -> None:
    headers = bearer("supervisor", "supervisor-demo")
    me = client.get("/api/auth/me", headers=headers).json()
    assert me["role"] == "supervisor" and me["subject"] == "supervisor" and me["via"] == "token"
    r = client.post("/api/auth/token", data={"username": "supervisor", "password": "wrong-password"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_credentials"
    r = client.post("/api/auth/token", data={"username": "nobody", "password": "wrong-password"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_credentials"
    assert client.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer hqa.forged"}).status_code == 401


def test_clerk_token_carries_window(client: TestClient, bearer: Any) -> None:
    me = client.get("/api/auth/me", headers=bearer("clerk3", "clerk3-demo")).json()
    assert me["role"] == "clerk" and me["window"] == 3 and me["actor"] == "clerk:clerk3@3"
    r = client.post("/api/auth/token", data={"username": "clerk3", "password": "clerk3-demo", "scope": "window:4"})
    assert r.status_code == 403 and r.json()["code"] == "window_not_allowed"


def test_token_expires(client: TestClient, app: Any, bearer: Any) -> None:
    headers = bearer("admin", "admin-demo")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    auth = app.state.services.auth
    real = auth.clock
    auth.clock = lambda: real() + dt.timedelta(seconds=auth.settings.token_ttl_seconds + 1)
    try:
        assert client.get("/api/auth/me", headers=headers).status_code == 401
    finally:
        auth.clock = real
    assert client.get("/api/auth/me", headers=headers).status_code == 200


def _login(client: TestClient, username: str, password: str, window: str = "") -> Any:
    return client.post("/auth/login", data={"username": username, "password": password, "window": window,
                                            "next": "/supervisor"}, follow_redirects=False)


def test_session_cookie_flags_and_csrf(client: TestClient) -> None:
    r = _login(client, "clerk1", "clerk1-demo", "1")
    assert r.status_code == 303 and r.headers["location"] == "/supervisor"
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    csrf_cookie = next(c for c in cookies if c.startswith(CSRF_COOKIE + "="))
    assert "httponly" in session.lower() and "samesite=lax" in session.lower()
    assert "httponly" not in csrf_cookie.lower() and "samesite=strict" in csrf_cookie.lower()
    me = client.get("/api/auth/me").json()
    assert me["via"] == "session" and me["window"] == 1
    csrf = client.cookies[CSRF_COOKIE]
    # cookie-authenticated unsafe request without the token: refused
    r = client.post("/api/auth/password", json={"old_password": "clerk1-demo", "new_password": "clerk1-better"})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = client.post("/api/auth/password", json={"old_password": "clerk1-demo", "new_password": "clerk1-better"},
                    headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = client.post("/api/auth/password", json={"old_password": "clerk1-demo", "new_password": "clerk1-demo"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and r.json()["code"] == "weak_password"  # passed the CSRF check
    # logout needs the token too, then the session is dead even if the cookie were replayed
    old = client.cookies[SESSION_COOKIE]
    r = client.post("/auth/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set(SESSION_COOKIE, old)
    assert client.get("/api/auth/me").status_code == 401


def test_session_expires(client: TestClient, app: Any) -> None:
    assert _login(client, "supervisor", "supervisor-demo").status_code == 303
    assert client.get("/api/auth/me").status_code == 200
    auth = app.state.services.auth
    real = auth.clock
    auth.clock = lambda: real() + dt.timedelta(seconds=auth.settings.session_ttl_seconds + 1)
    auth.forget()
    try:
        assert client.get("/api/auth/me").status_code == 401
    finally:
        auth.clock = real


def test_cross_site_login_form_refused(client: TestClient) -> None:
    r = client.post("/auth/login", data={"username": "admin", "password": "admin-demo"},
                    headers={"Origin": "http://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and SESSION_COOKIE not in client.cookies


def test_open_redirect_refused(client: TestClient) -> None:
    r = client.post("/auth/login", data={"username": "admin", "password": "admin-demo", "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/clerk"


def test_first_admin_must_change_password(client: TestClient, app: Any, tmp_path: Any) -> None:
    from sqlalchemy import update

    from server.auth.tables import accounts

    with app.state.services.auth.engine.begin() as conn:  # the demo admin would satisfy "an admin exists"
        conn.execute(update(accounts).where(accounts.c.role == "admin").values(role="supervisor"))
        conn.execute(update(accounts).where(accounts.c.username == "admin").values(username="demo-admin"))
    printed: list[str] = []
    password = ensure_first_admin(app.state.services.store, app.state.services.config, announce=printed.append)
    assert password and len(printed) == 1 and password in printed[0]
    assert ensure_first_admin(app.state.services.store, app.state.services.config, announce=printed.append) is None
    assert len(printed) == 1
    app.state.services.auth.forget()
    r = client.post("/api/auth/token", data={"username": "admin", "password": password})
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/accounts", headers=headers).json()["code"] == "password_change_required"
    r = client.post("/api/auth/password", headers=headers,
                    json={"old_password": password, "new_password": "a-much-better-one"})
    assert r.status_code == 200, r.text
    assert client.get("/api/auth/me", headers=headers).status_code == 401  # old token died with the password
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/accounts", headers=fresh).status_code == 200


def test_device_token_revocation(client: TestClient, bearer: Any) -> None:
    admin = bearer("admin", "admin-demo")
    r = client.post("/api/devices/tokens", headers=admin, json={"role": "kiosk", "name": "k2"})
    assert r.status_code == 201, r.text
    kiosk = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/auth/me", headers=kiosk).json()["kiosk"] == "k2"
    listed = client.get("/api/devices/tokens", headers=admin).json()
    assert all("token" not in row for row in listed)
    assert client.post(f"/api/devices/tokens/{r.json()['id']}/revoke", headers=admin).status_code == 200
    assert client.get("/api/auth/me", headers=kiosk).status_code == 401


def test_device_page_sign_in(client: TestClient) -> None:
    r = client.post("/auth/device", data={"token": "hqd_demo-kiosk-k1", "next": "/kiosk/k1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/kiosk/k1"
    me = client.get("/api/auth/me").json()
    assert me["role"] == "kiosk" and me["kiosk"] == "k1" and me["via"] == "session"
    r = client.post("/auth/device", data={"token": "hqd_nope"}, follow_redirects=False)
    assert r.status_code == 400


def test_page_password_change_flow(client: TestClient, bearer: Any) -> None:
    admin = bearer("admin", "admin-demo")
    made = client.post("/api/accounts", headers=admin, json={"username": "B0201", "name": "周敏", "role": "clerk",
                                                               "window": 7}).json()
    r = _login(client, "B0201", made["one_time_password"])
    assert r.status_code == 303 and r.headers["location"].startswith("/auth/password")
    blocked = client.get("/api/windows/7/waiting")  # nothing until the password is changed
    assert blocked.status_code == 403 and blocked.json()["code"] == "password_change_required"
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    csrf = client.cookies[CSRF_COOKIE]
    r = client.post("/auth/password", data={"old_password": made["one_time_password"], "new_password": "short",
                                            "csrf_token": csrf, "next": "/clerk"}, follow_redirects=False)
    assert r.status_code == 400
    r = client.post("/auth/password", data={"old_password": made["one_time_password"],
                                            "new_password": "zhoumin-2026", "next": "/clerk"},
                    follow_redirects=False)
    assert r.status_code == 403  # no CSRF token in the form
    r = client.post("/auth/password", data={"old_password": made["one_time_password"],
                                            "new_password": "zhoumin-2026", "csrf_token": csrf, "next": "/clerk"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/clerk"
    me = client.get("/api/auth/me").json()
    assert me["subject"] == "B0201" and me["window"] == 7 and me["must_change_password"] is False
    assert client.post("/api/auth/token", data={"username": "B0201", "password": "zhoumin-2026"}).status_code == 200


def test_device_link_on_a_page_signs_in_once(client: TestClient) -> None:
    r = client.get("/kiosk/k1?token=hqd_demo-kiosk-k1&lang=en", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/kiosk/k1?lang=en"
    assert "hqd_demo" not in r.headers["location"]
    me = client.get("/api/auth/me").json()
    assert me["role"] == "kiosk" and me["kiosk"] == "k1"
    assert client.get("/display/hall?token=hqd_wrong", follow_redirects=False).status_code == 400
