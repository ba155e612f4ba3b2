"""Every route declares who may call it, and the declaration holds for every role.

A route declares with a dependency made by ``server.auth.allow(...)`` or ``server.auth.public(...)``
(on its APIRouter or on the route). This walks the route table of the real ``create_app`` and
fails on any route that declares nothing, then calls every route as every role.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.auth.roles import Role, walk_routes
from server.auth.service import AuthSettings

from .conftest import DEVICE

# Starlette routes FastAPI adds itself (the API description and its viewers): public by design.
FRAMEWORK = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
STATIC_MOUNTS = ("/static",)  # page assets (scripts, styles, fonts): public by design
BINDING_CODES = {"wrong_window", "wrong_kiosk", "wrong_ticket"}


def test_every_route_declares_who_may_call_it(app: Any) -> None:
    undeclared, ambiguous, unknown = [], [], []
    routes = walk_routes(app)
    for info in routes:
        if info.kind in ("http", "websocket"):
            if not info.rules:
                undeclared.append(f"{sorted(info.methods) or ['WS']} {info.path}")
            elif {r.public for r in info.rules} == {True, False}:
                ambiguous.append(info.path)
        elif info.kind == "mount":
            if not info.path.startswith(STATIC_MOUNTS):
                unknown.append(f"mount {info.path}")
        elif info.path not in FRAMEWORK:
            unknown.append(f"route {info.path}")
    assert len([i for i in routes if i.kind == "http"]) > 30
    assert undeclared == [], "routes that declare nothing (add allow(...) or public(...)):\n" + "\n".join(undeclared)
    assert ambiguous == [], f"routes declaring both public and allow: {ambiguous}"
    assert unknown == [], f"routes outside FastAPI's dependency system: {unknown}"


@pytest.fixture
def world(client: TestClient, app: Any, bearer: Any) -> dict[str, Any]:
    """Two tickets, the demo credentials of every role, and lifted issue limits."""
    auth = app.state.services.auth
    auth.settings = AuthSettings(issue_limits=False)
    store = app.state.services.store
    held = store.issue("general", actor="test").value
    mine = held.ticket
    other = store.issue("general", actor="test").value.ticket
    roles: dict[str, dict[str, str]] = {
        "anonymous": {},
        "citizen": {"X-Ticket-Token": held.token},
        "kiosk": DEVICE["kiosk"],
        "display": DEVICE["display"],
        "display_w1": DEVICE["display_w1"],
        "device": DEVICE["device"],
        "clerk": bearer("clerk1", "clerk1-demo", window=1),
        "supervisor": bearer("supervisor", "supervisor-demo"),
        "admin": bearer("admin", "admin-demo"),
    }
    return {"mine": mine, "token": held.token, "other": other, "roles": roles}


ROLE_OF = {"anonymous": None, "citizen": Role.CITIZEN, "kiosk": Role.KIOSK, "display": Role.DISPLAY,
           "display_w1": Role.DISPLAY, "device": Role.DEVICE, "clerk": Role.CLERK, "supervisor": Role.SUPERVISOR,
           "admin": Role.ADMIN}


def fill(path: str, world: dict[str, Any], window: int = 1) -> str:
    """A concrete URL for a route template."""
    values = {"number": window, "ticket_id": world["mine"].id, "kiosk_id": "k1", "token": world["token"],
              "device_id": "printer-k1", "account_id": 9999, "token_id": 9999, "index": 0}
    out = path
    for name, value in values.items():
        out = out.replace("{" + name + "}", str(value))
    while "{" in out:  # any other parameter: a harmless value
        start, end = out.index("{"), out.index("}")
        out = out[:start] + "1" + out[end + 1:]
    return out


def own_object(name: str, code: str | None, path: str, window: int) -> bool:
    """True when a binding refusal hit the caller's own window, kiosk or ticket (a bug)."""
    if code == "wrong_window":
        return "{number}" in path and window == 1 and name in ("clerk", "device", "display_w1")
    if code == "wrong_kiosk":
        return name == "kiosk" and "{kiosk_id}" in path  # the URL names k1, the kiosk's own id
    if code == "wrong_ticket":
        return name == "citizen"  # the URL names the citizen's own ticket
    return False


def _code(r: Any) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def test_route_role_matrix(client: TestClient, world: dict[str, Any]) -> None:
    failures: list[str] = []
    checked = 0
    for info in walk_routes(client.app):
        if info.kind != "http" or not info.rules:
            continue  # undeclared routes are reported by the declaration test
        protected = [r for r in info.rules if not r.public]
        allowed: set[Role] = set.intersection(*(set(r.roles) for r in protected)) if protected else set(Role)
        path = info.path
        for method in sorted(info.methods - {"HEAD"}):
            for name, headers in world["roles"].items():
                role = ROLE_OF[name]
                windows = (1, 2) if role in (Role.CLERK, Role.DISPLAY) and "{number}" in path else (1,)
                for window in windows:
                    url = fill(path, world, window)
                    r = client.request(method, url, headers=headers)
                    checked += 1
                    where = f"{method} {url} as {name}: {r.status_code} {_code(r)}"
                    if not protected:
                        if r.status_code == 401:
                            failures.append("public route refused: " + where)
                        continue
                    if role is None or (role is Role.CITIZEN and Role.CITIZEN not in allowed):
                        if r.status_code != 401:
                            failures.append("anonymous not refused with 401: " + where)
                    elif role not in allowed:
                        if not (r.status_code == 403 and _code(r) == "forbidden"):
                            failures.append(f"{name} should be forbidden: " + where)
                    elif r.status_code == 401 or (r.status_code == 403 and _code(r) not in BINDING_CODES
                                                  and _code(r) not in ("window_not_open",)):
                        failures.append(f"{name} is allowed but was refused: " + where)
                    elif r.status_code == 403 and own_object(name, _code(r), path, window):
                        failures.append(f"{name} refused on its own object: " + where)
                    elif r.status_code >= 500:
                        failures.append("server error: " + where)
    assert checked > 100
    assert failures == [], "\n".join(failures)


# -- the policy itself: who may do what (issue 8) --------------------------------------------


def _status(client: TestClient, world: dict[str, Any], who: str, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    r = client.request(method, path, headers={**world["roles"][who], **kw.pop("headers", {})}, **kw)
    return r.status_code, _code(r)


def test_only_clerks_of_the_window_and_supervisors_call(client: TestClient, world: dict[str, Any]) -> None:
    for who in ("anonymous", "citizen"):
        assert _status(client, world, who, "POST", "/api/windows/1/call-next")[0] == 401
    for who in ("kiosk", "display", "display_w1"):
        assert _status(client, world, who, "POST", "/api/windows/1/call-next") == (403, "forbidden")
    assert _status(client, world, "clerk", "POST", "/api/windows/1/open")[0] == 200
    assert _status(client, world, "clerk", "POST", "/api/windows/1/call-next")[0] == 200
    assert _status(client, world, "clerk", "POST", "/api/windows/2/open") == (403, "wrong_window")
    assert _status(client, world, "clerk", "POST", "/api/windows/2/call-next") == (403, "wrong_window")
    assert _status(client, world, "supervisor", "POST", "/api/windows/2/open")[0] == 200
    assert _status(client, world, "device", "POST", "/api/windows/2/call-next")[0] == 200


def test_kiosks_issue_displays_read(client: TestClient, world: dict[str, Any]) -> None:
    body = {"service": "general", "channel": "kiosk", "kiosk": "k1"}
    assert _status(client, world, "anonymous", "POST", "/api/tickets", json=body)[0] == 401
    assert _status(client, world, "kiosk", "POST", "/api/tickets", json=body)[0] == 201
    assert _status(client, world, "kiosk", "POST", "/api/tickets", json={**body, "kiosk": "k2"}) == (403, "wrong_kiosk")
    assert _status(client, world, "display", "POST", "/api/tickets", json=body) == (403, "forbidden")
    assert _status(client, world, "display", "GET", "/api/hall")[0] == 200
    assert _status(client, world, "display", "GET", "/api/windows/3")[0] == 200
    assert _status(client, world, "display", "POST", "/api/windows/3/open") == (403, "forbidden")


def test_ticket_holders_act_on_their_own_ticket_only(client: TestClient, world: dict[str, Any]) -> None:
    mine, other = world["mine"], world["other"]
    assert _status(client, world, "citizen", "POST", f"/api/tickets/{other.id}/cancel") == (403, "wrong_ticket")
    assert _status(client, world, "citizen", "POST", f"/api/tickets/{mine.id}/rating", json={"level": 5})[0] == 409
    assert _status(client, world, "citizen", "POST", f"/api/tickets/{mine.id}/cancel")[0] == 200
    # a clerk never rates their own service
    assert _status(client, world, "clerk", "POST", f"/api/tickets/{other.id}/rating", json={"level": 5})[0] == 403


def test_window_display_rates_only_its_window(client: TestClient, world: dict[str, Any]) -> None:
    sup = world["roles"]["supervisor"]
    client.post("/api/windows/2/open", headers=sup)
    called = client.post("/api/windows/2/call-next", headers=sup).json()
    client.post("/api/windows/2/finish", headers=sup)
    r = client.post(f"/api/tickets/{called['id']}/rating", headers=DEVICE["display_w1"], json={"level": 5})
    assert (r.status_code, _code(r)) == (403, "wrong_window")
    r = client.post(f"/api/tickets/{called['id']}/rating", headers={"Authorization": "Bearer hqd_demo-display-w2"},
                    json={"level": 5})
    assert r.status_code == 200 and r.json()["rating"] == 5


def test_managers_only(client: TestClient, world: dict[str, Any]) -> None:
    assert _status(client, world, "supervisor", "GET", "/api/accounts") == (403, "forbidden")
    assert _status(client, world, "admin", "GET", "/api/accounts")[0] == 200
    assert _status(client, world, "clerk", "GET", "/api/audit") == (403, "forbidden")
    for info in walk_routes(client.app):
        # /supervisor/video is a page shell like /supervisor (no video in it: its script reads the API below)
        if ("video" in info.path or "camera" in info.path) and info.path != "/supervisor/video":
            roles = set().union(*(r.roles for r in info.rules if not r.public))
            assert roles and roles <= {Role.SUPERVISOR, Role.ADMIN}, info.path
