"""The live hall configuration through its API: versions, stale and invalid changes, rollback, YAML, audit."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.cli import check_config
from server.config import load_config
from tests.support import DEMO_DISPLAY_HALL, DEMO_KIOSK_K1, demo_bearer, make_app


@pytest.fixture
def client(tmp_path: Path, hall_config: Any) -> Iterator[TestClient]:
    """A started app on a fresh database, signed in as the demo admin."""
    with TestClient(make_app(tmp_path, hall_config), raise_server_exceptions=False) as c:
        c.headers.update(demo_bearer(c, "admin"))
        yield c


def _current(client: TestClient) -> dict[str, Any]:
    r = client.get("/api/config")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_yaml_is_version_1_and_a_patch_makes_version_2_applied_at_once(client: TestClient) -> None:
    first = _current(client)
    assert first["version"] == 1 and first["config"]["hall"]["name"] == "示范区政务服务中心"
    r = client.patch("/api/config", json={"expected_version": 1, "patch": {
        "bulletin": {"notices": ["今日15:00起系统升级"], "supervision_phone": "0000-12345"}}})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["changed"] == 2
    public = client.get("/api/config/public", headers={"Authorization": DEMO_DISPLAY_HALL["Authorization"]}).json()
    assert public["version"] == 2 and public["notices"] == ["今日15:00起系统升级"]
    assert public["supervision_phone"] == "0000-12345"
    versions = client.get("/api/config/versions").json()
    assert [(v["version"], v["source"]) for v in versions] == [(2, "patch"), (1, "yaml")]


def test_a_stale_version_is_409_with_the_newer_version(client: TestClient) -> None:
    assert client.patch("/api/config", json={"expected_version": 1,
                                             "patch": {"bulletin": {"notices": ["甲"]}}}).status_code == 200
    r = client.patch("/api/config", json={"expected_version": 1, "patch": {"bulletin": {"notices": ["乙"]}}})
    assert r.status_code == 409 and r.json()["code"] == "config_stale"
    assert r.json()["current_version"] == 2
    assert _current(client)["config"]["bulletin"]["notices"] == ["甲"]


def test_an_invalid_change_lists_every_problem_with_its_path_and_applies_nothing(client: TestClient) -> None:
    before = _current(client)
    r = client.patch("/api/config", json={"expected_version": 1, "patch": {
        "hall": {"timezone": "Mars/Olympus"},
        "policy": {"max_recalls": -1},
        "bulletin": {"notices": ["改了也不算"], "colour": "red"},
    }})
    assert r.status_code == 422 and r.json()["code"] == "config_invalid"
    paths = {p["path"] for p in r.json()["problems"]}
    assert {"hall.timezone", "policy.max_recalls", "bulletin.colour"} <= paths
    # cross checks (references) are reported with their paths too
    doc = copy.deepcopy(before["config"])
    doc["windows"][0]["services"][0]["code"] = "nosuch"
    r = client.patch("/api/config", json={"expected_version": 1, "config": doc})
    assert r.status_code == 422
    assert r.json()["problems"] == [{"path": "windows[0].services[0].code", "message": "unknown service 'nosuch'"}]
    after = _current(client)
    assert after == before
    assert len(client.get("/api/config/versions").json()) == 1


def test_roll_back_to_any_version(client: TestClient) -> None:
    for text in ("一", "二", "三"):
        version = _current(client)["version"]
        assert client.patch("/api/config", json={"expected_version": version,
                                                 "patch": {"bulletin": {"notices": [text]}}}).status_code == 200
    r = client.post("/api/config/versions/2/restore", json={"expected_version": 4})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 5 and r.json()["config"]["bulletin"]["notices"] == ["一"]
    assert client.get("/api/config/versions").json()[0] == {**client.get("/api/config/versions").json()[0],
                                                          "source": "restore", "restored_from": 2}
    assert client.get("/api/config/public").json()["notices"] == ["一"]
    assert client.post("/api/config/versions/99/restore", json={"expected_version": 5}).status_code == 404
    assert client.post("/api/config/versions/1/restore", json={"expected_version": 4}).status_code == 409


def test_every_change_is_audited_with_its_diff(client: TestClient) -> None:
    client.patch("/api/config", json={"expected_version": 1, "patch": {"policy": {"max_recalls": 3}}})
    items = client.get("/api/audit", params={"action": "config.changed"}).json()["items"]
    assert len(items) == 1
    detail = items[0]["detail"]
    assert items[0]["actor"] == "admin:admin" and items[0]["target"] == "config:2"
    assert detail["changes"] == [{"path": "policy.max_recalls", "old": 2, "new": 3}]


def test_yaml_export_passes_check_config_and_reimports_to_the_same_config(client: TestClient,
                                                                         tmp_path: Path) -> None:
    client.patch("/api/config", json={"expected_version": 1, "patch": {"bulletin": {
        "notices": ["请提前准备好身份证"],
        "disclosures": [{"title": "首问负责制", "text": "首位接待的工作人员负责到底。"}]}}})
    live = _current(client)
    r = client.get("/api/config.yaml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/yaml")
    path = tmp_path / "exported.yaml"
    path.write_text(r.text, encoding="utf-8")
    assert check_config(path) == 0
    assert load_config(path).model_dump(mode="json") == live["config"]
    r = client.put("/api/config.yaml", params={"expected_version": 2}, content=r.text.encode(),
                   headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    # the same configuration again: no empty version
    assert r.json()["version"] == 2 and r.json()["changed"] == 0 and r.json()["config"] == live["config"]
    bad = client.put("/api/config.yaml", params={"expected_version": 2}, content=b"hall: {name: ''}\n",
                     headers={"Content-Type": "application/yaml"})
    assert bad.status_code == 422 and {p["path"] for p in bad.json()["problems"]} >= {"hall.name", "services"}


def test_only_admins_change_the_configuration(client: TestClient) -> None:
    supervisor = demo_bearer(client, "supervisor")
    assert client.get("/api/config", headers=supervisor).status_code == 403
    assert client.patch("/api/config", headers=supervisor, json={"expected_version": 1, "patch": {}}).status_code == 403
    assert client.get("/api/config/public", headers={"Authorization": ""}).status_code == 200


def _without_joint(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["services"] = [s for s in doc["services"] if s["code"] != "joint"]
    for w in doc["windows"]:
        w["services"] = [s for s in w["services"] if s["code"] != "joint"]
    for k in doc["kiosks"]:
        k["services"] = [c for c in k["services"] if c != "joint"]
    return doc


def test_removing_a_service_with_waiting_tickets_is_refused_with_the_count_or_moves_them(client: TestClient) -> None:
    numbers = []
    for _ in range(2):
        r = client.post("/api/tickets", json={"service": "joint"}, headers=DEMO_KIOSK_K1)
        assert r.status_code == 201, r.text
        numbers.append(r.json()["number"])
    doc = _without_joint(_current(client)["config"])
    r = client.patch("/api/config", json={"expected_version": 1, "config": doc})
    assert r.status_code == 409 and r.json()["code"] == "service_has_waiting"
    assert r.json()["service"] == "joint" and r.json()["waiting"] == 2
    assert _current(client)["version"] == 1
    r = client.patch("/api/config", json={"expected_version": 1, "config": doc, "on_waiting": {"joint": "nosuch"}})
    assert r.status_code == 422
    r = client.patch("/api/config", json={"expected_version": 1, "config": doc, "on_waiting": {"joint": "market"}})
    assert r.status_code == 200, r.text
    assert r.json()["moved"] == {"joint": 2}
    market = next(s for s in client.get("/api/hall").json()["services"] if s["code"] == "market")
    assert market["waiting"] == 2
    # the moved tickets keep their numbers and are called at a market window
    client.post("/api/windows/13/open")
    called = client.post("/api/windows/13/call-next").json()
    assert called["number"] == numbers[0] and called["service"] == "market"  # 号码不变


def test_a_live_change_reaches_the_queue_without_restart(client: TestClient) -> None:
    doc = _current(client)["config"]
    doc["services"].append({"code": "passport", "name": "出入境证件", "prefix": "P", "guide": {
        "materials": ["居民身份证", "近期免冠照片"], "time_limit": "7个工作日", "fee": "120元",
        "basis": "《出境入境管理法》",
        "steps": ["取号", "采集指纹照片", "缴费", "领取回执"]}})
    doc["windows"][0]["services"].append({"code": "passport", "role": "secondary"})
    assert client.patch("/api/config", json={"expected_version": 1, "config": doc}).status_code == 200
    r = client.post("/api/tickets", json={"service": "passport"}, headers=DEMO_KIOSK_K1)
    assert r.status_code == 201, r.text
    assert r.json()["number"].startswith("P")
    guide = next(s for s in client.get("/api/config/public").json()["services"] if s["code"] == "passport")["guide"]
    assert guide["time_limit"] == "7个工作日" and guide["steps"][1] == "采集指纹照片"


def test_the_printed_ticket_carries_the_configured_supervision_phone(hall_config: Any) -> None:
    from server.kiosk.jobs import PrintJob
    from server.kiosk.printing import ticket_content
    from server.queue.views import TicketView

    ticket = TicketView.from_dict({"id": 1, "number": "A001", "service": "general", "service_name": "综合受理",
                                   "state": "issued", "priority": "normal", "channel": "kiosk", "window": None,
                                   "issued_at": "2026-12-01T09:00:00+08:00", "kiosk": "k1"})
    local = hall_config.model_copy(update={"bulletin": hall_config.bulletin.model_copy(
        update={"supervision_phone": "0571-12345678"})})
    assert ticket_content(local, PrintJob(1, "k1", ticket, "tok"), "http://hall").footer.endswith(
        "；监督电话：0571-12345678")


def test_a_changed_yaml_is_the_next_version_until_the_config_is_changed_live(tmp_path: Path,
                                                                             hall_config: Any) -> None:
    renamed = hall_config.model_copy(update={"hall": hall_config.hall.model_copy(update={"name": "改名后的中心"})})
    with TestClient(make_app(tmp_path, hall_config)) as c:
        c.headers.update(demo_bearer(c, "admin"))
        assert _current(c)["version"] == 1
    with TestClient(make_app(tmp_path, renamed)) as c:  # the file was edited, nobody changed it live
        c.headers.update(demo_bearer(c, "admin"))
        assert _current(c)["version"] == 2 and _current(c)["config"]["hall"]["name"] == "改名后的中心"
        assert c.patch("/api/config", json={"expected_version": 2,
                                            "patch": {"hall": {"name": "在线改的名"}}}).status_code == 200
    with TestClient(make_app(tmp_path, hall_config)) as c:  # live changes win over the file from now on
        c.headers.update(demo_bearer(c, "admin"))
        assert _current(c)["version"] == 3 and _current(c)["config"]["hall"]["name"] == "在线改的名"
