"""Accounts, tokens and sessions: §5 clerk cancels, §8 revocation by token, §11 demo databases,
§12 rebinding a clerk, §13 old-password guessing, §14 sign-in abuse, §18 device-login CSRF,
§19 the clerk named on a window, §23 the one-time password and the token MAC.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from server.auth import accounts as acc
from server.auth.bootstrap import ensure_first_admin
from server.auth.limits import LoginPolicy, prune_attempts, record_attempt
from server.auth.service import AuthSettings
from server.auth.tables import accounts, login_attempts
from server.auth.tokens import TokenSigner
from server.config import HallConfig
from tests.support import make_app

from .conftest import DEVICE, config_in


def _call(client: TestClient, headers: dict[str, str], window: int) -> dict[str, Any]:
    assert client.post(f"/api/windows/{window}/open", headers=headers).status_code == 200
    r = client.post(f"/api/windows/{window}/call-next", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _issue(client: TestClient, service: str = "general") -> dict[str, Any]:
    client.app.state.services.auth.settings = AuthSettings(issue_limits=False)  # type: ignore[attr-defined]
    r = client.post("/api/tickets", headers=DEVICE["device"], json={"service": service, "channel": "staff"})
    if r.status_code != 201:  # device hosts may not issue here any more: a clerk does
        r = client.post("/api/tickets", headers=_clerk(client, 1), json={"service": service})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _clerk(client: TestClient, window: int) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": f"clerk{window}", "password": f"clerk{window}-demo",
                                             "scope": f"window:{window}"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# -- §5 ---------------------------------------------------------------------------------------------------


def test_clerk_cancels_only_tickets_of_their_own_window(client: TestClient) -> None:
    clerk1, clerk2 = _clerk(client, 1), _clerk(client, 2)
    estate = _issue(client, "estate")  # windows 9/10/15 only
    assert client.post(f"/api/tickets/{estate['id']}/cancel", headers=clerk1).status_code == 403
    _issue(client, "general")
    called = _call(client, clerk2, 2)
    r = client.post(f"/api/tickets/{called['id']}/cancel", headers=clerk1)
    assert r.status_code == 403 and r.json()["code"] == "wrong_window"
    assert client.get("/api/windows/2", headers=clerk2).json()["current"]["id"] == called["id"]
    mine = _issue(client, "general")
    assert client.post(f"/api/tickets/{mine['id']}/cancel", headers=clerk1).status_code == 200
    assert client.post(f"/api/tickets/{estate['id']}/cancel", headers=_sup(client)).status_code == 200


def _sup(client: TestClient) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": "supervisor", "password": "supervisor-demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# -- §8 ---------------------------------------------------------------------------------------------------


def test_sessions_of_a_revoked_token_stay_dead_after_a_replacement(client: TestClient) -> None:
    admin = _admin(client)
    made = client.post("/api/devices/tokens", headers=admin, json={"role": "display", "name": "w2", "windows": [2]})
    assert made.status_code == 201, made.text
    leaked, leaked_id = made.json()["token"], made.json()["id"]
    r = client.post("/auth/device", data={"token": leaked, "next": "/display/hall"}, follow_redirects=False)
    assert r.status_code == 303
    session = {"hallq_session": r.cookies["hallq_session"]}
    client.cookies.clear()
    assert _me(client, session).status_code == 200
    assert client.post(f"/api/devices/tokens/{leaked_id}/revoke", headers=admin).status_code == 200
    assert _me(client, session).status_code == 401
    again = client.post("/api/devices/tokens", headers=admin, json={"role": "display", "name": "w2", "windows": [2]})
    assert again.status_code == 201
    assert _me(client, session).status_code == 401  # the replacement does not revive the leaked token's session


def _me(client: TestClient, cookies: dict[str, str]) -> Any:
    client.cookies.clear()
    for k, v in cookies.items():
        client.cookies.set(k, v)
    try:
        return client.get("/api/auth/me")
    finally:
        client.cookies.clear()


def _admin(client: TestClient) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": "admin", "password": "admin-demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# -- §11 --------------------------------------------------------------------------------------------------


def test_demo_credentials_die_when_a_demo_database_is_served_normally(tmp_path: Path,
                                                                    demo_config: HallConfig) -> None:
    config = config_in(tmp_path, demo_config)
    demo = make_app(tmp_path, config, store_factory=_plain_store, demo=True)
    with TestClient(demo) as c:
        assert c.get("/api/auth/me", headers=DEVICE["device"]).status_code == 200
    normal = make_app(tmp_path, config, store_factory=_plain_store)
    with TestClient(normal) as c:
        assert c.get("/api/auth/me", headers=DEVICE["device"]).status_code == 401
        r = c.post("/api/auth/token", data={"username": "supervisor", "password": "supervisor-demo"})
        assert r.status_code in (400, 403), r.text


def _plain_store(url: str, config: HallConfig) -> Any:
    from server.app import open_store

    return open_store(url, config)


# -- §12 --------------------------------------------------------------------------------------------------


def test_moving_a_clerk_ends_tokens_for_the_old_window(client: TestClient) -> None:
    old = _clerk(client, 5)
    admin = _admin(client)
    listed = client.get("/api/accounts", headers=admin).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    account_id = next(a["id"] for a in items if a["username"] == "clerk5")
    assert client.patch(f"/api/accounts/{account_id}", headers=admin, json={"window": 6}).status_code == 200
    assert client.get("/api/auth/me", headers=old).status_code == 401
    assert client.post("/api/windows/5/open", headers=old).status_code == 401


# -- §13 --------------------------------------------------------------------------------------------------


def test_old_password_guessing_is_locked_out(client: TestClient) -> None:
    token = _clerk(client, 3)
    for _ in range(5):
        r = client.post("/api/auth/password", headers=token,
                        json={"old_password": "guess-guess", "new_password": "N3w-password-x"})
        assert r.status_code == 400
    r = client.post("/api/auth/password", headers=token,
                    json={"old_password": "clerk3-demo", "new_password": "N3w-password-x"})
    assert r.status_code == 429 and r.json()["code"] == "login_locked"


# -- §14 --------------------------------------------------------------------------------------------------


def test_one_address_cannot_spray_passwords_across_user_names(client: TestClient) -> None:
    auth = client.app.state.services.auth  # type: ignore[attr-defined]
    auth.settings = AuthSettings(login_ip_max_failures=12)
    for i in range(auth.settings.login.ip_max_failures):
        client.post("/api/auth/token", data={"username": f"nobody{i}", "password": "x"})
    r = client.post("/api/auth/token", data={"username": "clerk4", "password": "clerk4-demo", "scope": "window:4"})
    assert r.status_code == 429


def test_strangers_cannot_lock_a_clerk_out_of_their_known_address(client: TestClient) -> None:
    auth = client.app.state.services.auth  # type: ignore[attr-defined]
    # addresses come from X-Forwarded-For of the (trusted) test client; the account-wide limit is 6
    auth.settings = AuthSettings(trust_proxy="testclient", login_account_max_failures=6)

    def sign_in(address: str, password: str) -> int:
        data = {"username": "clerk4", "password": password, "scope": "window:4"}
        return client.post("/api/auth/token", data=data, headers={"X-Forwarded-For": address}).status_code

    assert sign_in("10.0.0.4", "clerk4-demo") == 200  # the clerk's own counter PC
    for stranger in ("198.51.100.7", "198.51.100.8"):
        for _ in range(3):
            assert sign_in(stranger, "wrong") == 400
    assert sign_in("198.51.100.9", "clerk4-demo") == 429  # the account is locked for everyone else
    assert sign_in("10.0.0.4", "clerk4-demo") == 200  # but not for the address it signs in from


def test_login_attempts_are_pruned(app: Any) -> None:
    with TestClient(app):
        auth = app.state.services.auth
        policy = LoginPolicy()
        now = auth.now_ms()
        with auth.tx() as conn:
            for i in range(500):
                record_attempt(conn, f"u{i}", "203.0.113.1", False, now - 24 * 3600 * 1000)
            record_attempt(conn, "fresh", "203.0.113.1", False, now)
            prune_attempts(conn, now, policy)
            left = conn.execute(select(func.count()).select_from(login_attempts)).scalar()
        assert left == 1


# -- §15 (REST) -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    {"username": "clerk7", "password": "x", "scope": "window:\u00b3"},
    {"username": "clerk7", "password": "x", "scope": "\u00b2"},
])
def test_superscript_window_is_not_a_500(client: TestClient, data: dict[str, str]) -> None:
    assert client.post("/api/auth/token", data=data).status_code < 500
    form = {"username": "clerk7", "password": "x", "window": "\u00b3"}
    assert client.post("/auth/login", data=form).status_code < 500


def test_client_input_500s_are_4xx(client: TestClient) -> None:
    clerk = _clerk(client, 1)
    client.post("/api/windows/1/open", headers=clerk)
    r = client.post("/api/windows/1/call", headers=clerk, json={"ticket_id": 99999999999999999999999})
    assert r.status_code == 422
    r = client.get("/api/audit", headers=_sup(client), params={"to": "9999-12-31"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"


# -- §18 --------------------------------------------------------------------------------------------------


def test_device_sign_in_refuses_other_origins_and_account_sessions(client: TestClient) -> None:
    r = client.post("/auth/device", data={"token": "hqd_demo-kiosk-k1"}, headers={"Origin": "http://evil.example"},
                    follow_redirects=False)
    assert r.status_code == 403 and "hallq_session" not in r.cookies
    signed = client.post("/auth/login", data={"username": "supervisor", "password": "supervisor-demo",
                                              "next": "/supervisor"}, follow_redirects=False)
    assert signed.status_code == 303
    r = client.get("/kiosk/k1?token=hqd_demo-kiosk-k1", follow_redirects=False)
    assert r.status_code == 409  # the supervisor's session is not replaced by a kiosk session
    assert client.get("/api/auth/me").json()["role"] == "supervisor"


# -- §19 --------------------------------------------------------------------------------------------------


def test_the_clerk_on_a_window_comes_from_the_account(client: TestClient) -> None:
    clerk = _clerk(client, 1)
    r = client.post("/api/windows/1/open", headers=clerk, json={"clerk": "李娜 (clerk2)"})
    assert r.status_code == 200
    assert r.json()["clerk"] != "李娜 (clerk2)" and "clerk1" in r.json()["clerk"]


# -- §23 --------------------------------------------------------------------------------------------------


def test_unused_one_time_password_expires(tmp_path: Path, demo_config: HallConfig) -> None:
    app = make_app(tmp_path, config_in(tmp_path, demo_config), store_factory=_plain_store)
    printed: list[str] = []
    with TestClient(app) as c:
        auth = app.state.services.auth
        with auth.engine.connect() as conn:
            admin = acc.get_by_username(conn, "admin")
        assert admin is not None and admin.must_change_password
        password = _reset_admin(auth, printed, hours_ago=0)
        assert c.post("/api/auth/token", data={"username": "admin", "password": password}).status_code == 200
        password = _reset_admin(auth, printed, hours_ago=24 * 30)
        assert c.post("/api/auth/token", data={"username": "admin", "password": password}).status_code == 400
        renewed = ensure_first_admin(auth.engine, expire_hours=72, announce=printed.append)
        assert renewed and renewed in printed[-1]
        assert c.post("/api/auth/token", data={"username": "admin", "password": renewed}).status_code == 200


def _reset_admin(auth: Any, printed: list[str], hours_ago: float) -> str:
    password = "One-time-pass-1"
    with auth.tx() as conn:
        admin = acc.get_by_username(conn, "admin")
        acc.set_password(conn, admin.id, password, must_change=True, now_ms=auth.now_ms())
        then = auth.now_ms() - int(hours_ago * 3_600_000)
        conn.execute(update(accounts).where(accounts.c.id == admin.id).values(updated_at=then))
    auth.forget()
    return password


def test_access_tokens_are_hmac_sha256() -> None:
    signer = TokenSigner(b"k" * 32)
    token = signer.issue(username="u", account_id=1, epoch=1, windows=[], now=dt.datetime.now().timestamp(),
                         ttl_seconds=60)
    signature = token.rsplit(".", 1)[1]
    assert len(signature) == 43  # 32 bytes base64url (SHA-1 would be 27)
