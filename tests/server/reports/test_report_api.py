"""``GET /api/reports/{kind}`` on the production app: JSON, CSV and XLSX agree; bad input; roles."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.support import demo_bearer, make_app

ACTOR = "clerk:A0101@1"


@pytest.fixture
def client(tmp_path: Path, hall_config: Any) -> Iterator[TestClient]:
    """The app with a small scripted day: 3 general tickets at window 1 (done+rated 2, no-show, waiting)."""
    app = make_app(tmp_path, hall_config)
    with TestClient(app, raise_server_exceptions=False) as c:
        store = app.state.services.store
        store.open_window(1, clerk="A0101", actor=ACTOR)
        ids = [store.issue("general").value.ticket.id for _ in range(3)]
        store.call_next(1, actor=ACTOR)
        store.start(1, actor=ACTOR)
        store.finish(1, actor=ACTOR)
        store.rate(ids[0], 2, actor="citizen", reasons=["attitude"])
        store.call_next(1, actor=ACTOR)
        store.no_show(1, actor=ACTOR)
        store.pause_window(1, reason="临时离岗", actor=ACTOR)
        real = store.clock
        store.clock = lambda: real() + dt.timedelta(seconds=90)  # the pause lasts 90 s, not a few ms
        store.resume_window(1, actor=ACTOR)
        store.clock = real
        c.headers.update(demo_bearer(c, "admin"))
        c.day = store.business_day()  # type: ignore[attr-defined]
        yield c


def test_json_figures_of_the_scripted_day(client: TestClient) -> None:
    r = client.get("/api/reports/summary")
    assert r.status_code == 200, r.text
    body = r.json()
    totals = body["totals"]
    assert (totals["issued"], totals["called"], totals["done"], totals["no_show"]) == (3, 2, 1, 1)
    assert (totals["rated"], totals["bad"], totals["satisfaction"]) == (1, 1, 0.0)
    assert [row["window"] for row in body["breakdowns"]["windows"]] == [1, None]
    staff = client.get("/api/reports/staff", params={"clerk": "A0101"}).json()
    assert [(row["clerk"], row["done"]) for row in staff["rows"]] == [("A0101", 1)]
    w1 = next(row for row in client.get("/api/reports/windows").json()["rows"] if row["window"] == 1)
    assert w1["staffed_s"] is not None and w1["utilisation"] is not None
    assert 90 <= w1["pauses"]["临时离岗"] <= 95 and w1["paused_s"] == w1["pauses"]["临时离岗"]
    tickets = client.get("/api/reports/tickets").json()["rows"]
    assert sorted(t["state"] for t in tickets) == ["done", "issued", "no_show"]


def test_xlsx_and_csv_totals_equal_the_json(client: TestClient) -> None:
    totals = client.get("/api/reports/summary").json()["totals"]
    r = client.get("/api/reports/summary", params={"format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[:5] == ["汇总", "按业务", "按窗口", "按人员", "按时段"]
    for ws in (wb[name] for name in wb.sheetnames[:5]):
        header = [c.value for c in ws[1]]
        last = {h: c.value for h, c in zip(header, ws[ws.max_row], strict=True)}
        assert last[header[0]] == "合计"
        assert (last["取号量"], last["办结量"], last["差评数"]) == (totals["issued"], totals["done"], totals["bad"])
        assert ws.freeze_panes == "B2"
    assert wb["汇总"].cell(ws.max_row, header.index("满意率") + 1).number_format == "0.0%"
    assert [c.value for c in wb["暂停原因"][2]][:2] == [1, "临时离岗"]
    text = client.get("/api/reports/windows", params={"format": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["窗口"] == "合计" and int(rows[-1]["取号量"]) == totals["issued"]
    assert sum(int(r["取号量"]) for r in rows[:-1]) == totals["issued"]


def test_empty_range_is_a_valid_file_with_zero_totals(client: TestClient) -> None:
    r = client.get("/api/reports/services", params={"from": "2020-01-01", "to": "2020-01-31", "format": "xlsx"})
    ws = load_workbook(io.BytesIO(r.content))["按业务"]
    assert ws.max_row == 2 and ws.cell(1, 1).value == "业务" and ws.cell(2, 1).value == "合计"
    header = [c.value for c in ws[1]]
    assert header[1] == "业务名称" and ws.cell(2, header.index("取号量") + 1).value == 0
    body = client.get("/api/reports/services", params={"from": "2020-01-01", "to": "2020-01-01"}).json()
    assert body["rows"] == [] and body["totals"]["issued"] == 0 and body["totals"]["satisfaction"] is None


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-11-30", "to": "2026-11-01"}, "to"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "to"),
    ({"from": "2026-13-01"}, "from"),
    ({"to": "yesterday"}, "to"),
])
def test_bad_range_is_422_naming_the_field(client: TestClient, params: dict[str, str], field: str) -> None:
    r = client.get("/api/reports/summary", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_range" and r.json()["field"] == field


@pytest.mark.parametrize(("params", "code"), [
    ({"service": "nosuch"}, "unknown_service"),
    ({"window": 999}, "unknown_window"),
    ({"clerk": "Z9999"}, "unknown_clerk"),
])
def test_unknown_filter_is_404(client: TestClient, params: dict[str, str], code: str) -> None:
    r = client.get("/api/reports/windows", params=params)
    assert r.status_code == 404 and r.json()["code"] == code


def test_only_supervisors_and_admins(client: TestClient) -> None:
    anonymous = client.get("/api/reports/summary", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    clerk = client.get("/api/reports/summary", headers=demo_bearer(client, "clerk1", window=1))
    assert clerk.status_code == 403
    supervisor = client.get("/api/reports/summary", headers=demo_bearer(client, "supervisor"))
    assert supervisor.status_code == 200


def test_cli_gives_the_same_figures_as_the_api(client: TestClient, tmp_path: Path) -> None:
    from server.cli import main

    url = f"sqlite:///{tmp_path / 'hall.db'}"
    out = tmp_path / "r.json"
    assert main(["report", "windows", "--database-url", url, "--format", "json", "--output", str(out)]) == 0
    api = client.get("/api/reports/windows").json()
    assert json.loads(out.read_text()) == api
    xlsx = tmp_path / "r.xlsx"
    assert main(["report", "--database-url", url, "--format", "xlsx", "--output", str(xlsx)]) == 0
    ws = load_workbook(xlsx)["汇总"]
    assert ws.cell(ws.max_row, 2).value == api["totals"]["issued"]
    assert main(["report", "--database-url", url, "--from", "2026-02-30"]) == 2
    staffing = tmp_path / "s.json"
    assert main(["report", "--staffing", "--database-url", url, "--output", str(staffing)]) == 0
    assert json.loads(staffing.read_text())["rows"] == client.get("/api/reports/staffing").json()["rows"]


def test_assessment_ranks_with_weights_and_exports(client: TestClient) -> None:
    body = client.get("/api/reports/assessment", params={"weights": "done:50,satisfaction:50"}).json()
    assert body["weights"]["done"] == 50 and body["weights"]["wait_mean"] == 0
    assert [(r["unit"], r["rank"]) for r in body["rows"]] == [(1, 1)]
    # window 1: done 1 (best → 100), satisfaction 0 (best 0 → 100 by the higher-is-better rule)
    assert body["rows"][0]["score_done"] == 100.0
    wb = load_workbook(io.BytesIO(client.get("/api/reports/assessment", params={"format": "xlsx"}).content))
    assert wb.sheetnames[:2] == ["窗口考核", "人员考核"]
    assert wb["人员考核"].cell(2, 2).value == "A0101"
    bad = client.get("/api/reports/assessment", params={"weights": "speed:10"})
    assert bad.status_code == 422 and bad.json()["field"] == "weights"


def test_staffing_advice_per_service_and_hour(client: TestClient) -> None:
    body = client.get("/api/reports/staffing").json()
    assert [(r["service"], r["arrivals_per_hour"]) for r in body["rows"]] == [("general", 3.0)]
    assert body["rows"][0]["windows"] >= 1 and body["days"] == 1
    wb = load_workbook(io.BytesIO(client.get("/api/reports/staffing", params={"format": "xlsx"}).content))
    assert wb.sheetnames[:2] == ["人员配置建议", "每时段窗口数"]
    pivot = wb["每时段窗口数"]
    header = [c.value for c in pivot[1]]
    general = next(s.name for s in client.app.state.services.config.services if s.code == "general")  # type: ignore[attr-defined]
    assert header == ["时段", general, "合计窗口数"]
    assert pivot.cell(2, 3).value == body["rows"][0]["windows"]


def test_names_beside_codes_and_filters_in_the_workbook(client: TestClient) -> None:
    body = client.get("/api/reports/windows", params={"window": 1}).json()
    assert body["filters"] == {"window": 1} and body["rows"][0]["window_name"].startswith("1号")
    wb = load_workbook(io.BytesIO(client.get("/api/reports/windows", params={"window": 1, "format": "xlsx"}).content))
    assert [c.value for c in wb["按窗口"][1]][:2] == ["窗口", "窗口名称"]
    info = {row[0]: row[1] for row in wb["说明"].iter_rows(values_only=True)}
    assert info["筛选：窗口"] == 1
