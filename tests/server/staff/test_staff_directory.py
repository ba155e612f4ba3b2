"""The staff directory: CRUD (admin only, audited), photos (type and size checked, resized), the
sign-in and window-open checks (``window_not_allowed``), the window card, ratings credited to the
signed-in member."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from server.config import HallConfig
from tests.support import DEMO_DEVICE_HOST, demo_bearer, make_app

CARD = {"id", "staff_no", "name", "department", "photo"}


@pytest.fixture
def app_client(tmp_path: Path, hall_config: HallConfig) -> Iterator[TestClient]:
    """The production app; no default credentials (each call names who it is)."""
    config = hall_config.model_copy(update={"staff": hall_config.staff.model_copy(
        update={"stars_min_ratings": 2, "photo_max_bytes": 60_000})})
    with TestClient(make_app(tmp_path, config), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin(app_client: TestClient) -> dict[str, str]:
    return demo_bearer(app_client, "admin")


def png(width: int = 120, height: int = 150, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def add(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    r = client.post("/api/staff", headers=admin, json={"name": "赵敏", "department": "市税务局", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def sign_in(client: TestClient, staff_no: str, password: str, window: int) -> Any:
    return client.post("/api/auth/token", data={"username": staff_no, "password": password,
                                                "scope": f"window:{window}"})


def ready(client: TestClient, staff_no: str, password: str, window: int) -> tuple[dict[str, str], str]:
    """Sign in, replace the one-time password; (the member's bearer header, the new password)."""
    first = {"Authorization": f"Bearer {sign_in(client, staff_no, password, window).json()['access_token']}"}
    new = password + "-new"
    r = client.post("/api/auth/password", headers=first, json={"old_password": password, "new_password": new})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}, new


def audit_actions(client: TestClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/api/audit", headers=admin, params={"limit": 200})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"] if isinstance(body, dict) else body  # type: ignore[no-any-return]


def test_admin_adds_lists_and_changes_staff_and_every_change_is_audited(app_client: TestClient,
                                                                        admin: dict[str, str]) -> None:
    made = add(app_client, admin, staff_no="T0301", windows=[3, 4], services=["hukou"])
    staff, password = made["staff"], made["one_time_password"]
    assert password and staff["staff_no"] == "T0301" and staff["windows"] == [3, 4]
    assert staff["department"] == "市税务局" and staff["role"] == "clerk" and staff["photo"] is None

    listed = app_client.get("/api/staff", headers=admin).json()
    assert any(s["staff_no"] == "T0301" and s["services"] == ["hukou"] for s in listed)
    # the picker before sign-in: cards only, for anyone, only those allowed at the window
    at3 = app_client.get("/api/staff", params={"window": 3}).json()
    assert any(c["staff_no"] == "T0301" for c in at3) and all("windows" not in c and "role" not in c for c in at3)
    assert not any(c["staff_no"] == "T0301" for c in app_client.get("/api/staff", params={"window": 5}).json())
    anonymous = app_client.get("/api/staff").json()  # anyone: cards of active clerks, no roles or windows
    assert any(c["staff_no"] == "T0301" for c in anonymous) and all(set(c) == CARD for c in anonymous)
    assert not any(c["staff_no"] in ("admin", "supervisor") for c in anonymous)
    clerk = app_client.get("/api/staff", headers=demo_bearer(app_client, "clerk1", window=1)).json()
    assert all(set(c) == CARD for c in clerk)

    r = app_client.patch(f"/api/staff/{staff['id']}", headers=admin,
                         json={"department": "市民政局", "windows": [5]})
    assert r.status_code == 200 and r.json()["department"] == "市民政局" and r.json()["windows"] == [5]
    assert app_client.post("/api/staff", headers=admin, json={"staff_no": "T0301", "name": "x"}).status_code == 409
    assert app_client.patch(f"/api/staff/{staff['id']}", headers=admin, json={"windows": [999]}).status_code == 404
    assert app_client.patch("/api/staff/99999", headers=admin, json={"name": "x"}).json()["code"] == "unknown_staff"

    actions = [(a["action"], a.get("target")) for a in audit_actions(app_client, admin)]
    target = f"account:{staff['id']}"
    assert ("staff.created", target) in actions and ("staff.updated", target) in actions
    updated = next(a for a in audit_actions(app_client, admin) if a["action"] == "staff.updated")
    detail = updated["detail"] if isinstance(updated["detail"], dict) else json.loads(updated["detail"])
    assert detail["department"] == {"from": "市税务局", "to": "市民政局"}


def test_writes_are_for_admins_only(app_client: TestClient, admin: dict[str, str]) -> None:
    supervisor = demo_bearer(app_client, "supervisor")
    assert app_client.get("/api/staff", headers=supervisor).status_code == 200
    assert app_client.post("/api/staff", headers=supervisor, json={"staff_no": "X1", "name": "x"}).status_code == 403
    clerk_id = next(s["id"] for s in app_client.get("/api/staff", headers=admin).json() if s["staff_no"] == "clerk1")
    assert app_client.patch(f"/api/staff/{clerk_id}", headers=supervisor, json={"name": "x"}).status_code == 403
    r = app_client.put(f"/api/staff/{clerk_id}/photo", headers={**supervisor, "content-type": "image/png"},
                       content=png())
    assert r.status_code == 403


def test_photo_upload_is_checked_stored_and_served_resized(app_client: TestClient, admin: dict[str, str]) -> None:
    staff = add(app_client, admin, staff_no="P0001")["staff"]
    url = f"/api/staff/{staff['id']}/photo"

    r = app_client.put(url, headers={**admin, "content-type": "image/png"}, content=b"not an image at all")
    assert r.status_code == 422 and r.json()["code"] == "photo_invalid"
    r = app_client.put(url, headers={**admin, "content-type": "text/plain"}, content=png())
    assert r.status_code == 422 and r.json()["code"] == "photo_invalid"
    gif = io.BytesIO()
    Image.new("RGB", (64, 64)).save(gif, "GIF")
    r = app_client.put(url, headers={**admin, "content-type": "image/png"}, content=gif.getvalue())
    assert r.status_code == 422 and r.json()["code"] == "photo_invalid"  # the bytes, not the header, decide
    noise = io.BytesIO()
    Image.effect_noise((400, 400), 90).convert("RGB").save(noise, "PNG")  # incompressible: > 60 000 bytes
    assert len(noise.getvalue()) > 60_000
    r = app_client.put(url, headers={**admin, "content-type": "image/png"}, content=noise.getvalue())
    assert r.status_code == 422 and r.json()["code"] == "photo_too_large"
    assert app_client.get(url, headers=admin).json()["code"] == "no_photo"

    r = app_client.put(url, headers={**admin, "content-type": "image/png"}, content=png(600, 800))
    assert r.status_code == 200, r.text
    assert r.json()["photo"].startswith(url)
    full = app_client.get(url, headers=admin)
    assert full.headers["content-type"] == "image/jpeg" and "private" in full.headers["cache-control"]
    assert Image.open(io.BytesIO(full.content)).size == (600, 800)
    small = app_client.get(url, headers=admin, params={"size": 100})
    assert Image.open(io.BytesIO(small.content)).size == (96, 128)  # the next served size up: 128 high
    assert app_client.get(url).status_code == 401  # not public
    display = {"Authorization": "Bearer hqd_demo-display-w1"}
    assert app_client.get(url, headers=display).status_code == 200  # the window screen shows it
    assert "staff.photo_set" in [a["action"] for a in audit_actions(app_client, admin)]


def test_a_clerk_not_allowed_at_a_window_is_refused(app_client: TestClient, admin: dict[str, str]) -> None:
    made = add(app_client, admin, staff_no="W0007", windows=[7], password="Window-seven-7")
    assert sign_in(app_client, "W0007", "Window-seven-7", 7).status_code == 200
    r = sign_in(app_client, "W0007", "Window-seven-7", 8)
    assert r.status_code == 403 and r.json()["code"] == "window_not_allowed"
    # a supervisor naming a clerk: in the directory and allowed there, else refused
    supervisor = demo_bearer(app_client, "supervisor")
    r = app_client.post("/api/windows/8/open", headers=supervisor, json={"clerk": "W0007"})
    assert r.status_code == 403 and r.json()["code"] == "window_not_allowed"
    r = app_client.post("/api/windows/8/open", headers=supervisor, json={"clerk": "局长 (0001)"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_staff"
    # a token from before the directory changed does not open the window any more
    token, _ = ready(app_client, "W0007", "Window-seven-7", 7)
    staff_id = made["staff"]["id"]
    app_client.patch(f"/api/staff/{staff_id}", headers=admin, json={"services": ["medical"]})  # keeps its tokens
    assert app_client.post("/api/windows/7/open", headers=token).status_code == 200
    app_client.post("/api/windows/7/close", headers=token)
    app_client.patch(f"/api/staff/{staff_id}", headers=admin, json={"windows": [6]})
    assert app_client.post("/api/windows/7/open", headers=token).status_code == 401  # its tokens ended


def _serve_and_rate(client: TestClient, clerk: dict[str, str], window: int, level: int) -> dict[str, Any]:
    ticket = client.post("/api/tickets", headers=clerk, json={"service": "general"}).json()
    for action in ("call", "start", "finish"):
        path = f"/api/windows/{window}/{action}" if action != "call" else f"/api/windows/{window}/call-next"
        r = client.post(path, headers=clerk)
        assert r.status_code == 200, r.text
    r = client.post(f"/api/tickets/{ticket['id']}/rating", headers=DEMO_DEVICE_HOST,
                    json={"level": level, "source": "evaluator"})
    assert r.status_code == 200, r.text
    return ticket  # type: ignore[no-any-return]


def test_the_window_card_and_ratings_credit_the_signed_in_member(app_client: TestClient,
                                                                admin: dict[str, str]) -> None:
    made = add(app_client, admin, staff_no="R0002", windows=[2], password="Rating-two-22")
    staff_id = made["staff"]["id"]
    app_client.put(f"/api/staff/{staff_id}/photo", headers={**admin, "content-type": "image/png"}, content=png())
    clerk, _ = ready(app_client, "R0002", "Rating-two-22", 2)
    display = {"Authorization": "Bearer hqd_demo-display-w2"}
    assert app_client.get("/api/staff/card", headers=display, params={"window": 2}).json() is None

    opened = app_client.post("/api/windows/2/open", headers=clerk, json={"clerk": "局长 (0001)"}).json()
    assert opened["clerk"] == "R0002"  # the directory identity, never what the body says
    card = app_client.get("/api/staff/card", headers=display, params={"window": 2}).json()
    assert card["name"] == "赵敏" and card["staff_no"] == "R0002" and card["department"] == "市税务局"
    assert card["photo"].startswith(f"/api/staff/{staff_id}/photo") and card["stars"] is None  # < 2 ratings

    first = _serve_and_rate(app_client, clerk, 2, 5)
    _serve_and_rate(app_client, clerk, 2, 1)
    cases = app_client.get("/api/cases", headers=admin).json()
    items = cases["items"] if isinstance(cases, dict) else cases
    assert any(c["clerk"] == "R0002" for c in items)  # the 差评 case names the member
    rated = [a for a in audit_actions(app_client, admin) if a["action"] == "evaluation.recorded"]
    detail = next(json.loads(a["detail"]) if isinstance(a["detail"], str) else a["detail"] for a in rated
                  if (a["detail"] if isinstance(a["detail"], dict) else json.loads(a["detail"]))["ticket_id"]
                  == first["id"])
    assert detail["clerk"] == "R0002"
    stars = app_client.get("/api/staff/card", headers=display, params={"window": 2}).json()["stars"]
    assert stars == {"stars": 2.5, "satisfaction": 0.5, "rated": 2, "done": 2, "days": 30}


def test_the_directory_list_replaces_a_one_window_binding(app_client: TestClient, admin: dict[str, str]) -> None:
    clerk5 = next(s for s in app_client.get("/api/staff", headers=admin).json() if s["staff_no"] == "clerk5")
    assert clerk5["windows"] == [5]  # the demo account's binding, as the directory shows it
    assert sign_in(app_client, "clerk5", "clerk5-demo", 6).json()["code"] == "window_not_allowed"
    r = app_client.patch(f"/api/staff/{clerk5['id']}", headers=admin, json={"windows": [5, 6]})
    assert r.status_code == 200 and r.json()["windows"] == [5, 6] and r.json()["window"] is None
    assert sign_in(app_client, "clerk5", "clerk5-demo", 6).status_code == 200
    assert sign_in(app_client, "clerk5", "clerk5-demo", 7).json()["code"] == "window_not_allowed"
    app_client.patch(f"/api/staff/{clerk5['id']}", headers=admin, json={"windows": [7]})
    r = app_client.post("/api/auth/token", data={"username": "clerk5", "password": "clerk5-demo"})
    assert r.status_code == 200  # one window listed: signing in without a number means that one
    me = app_client.get("/api/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert me["window"] == 7
