"""The 统计报表 page in headless Chromium under the app's CSP: charts drawn, tables filled, export downloads.

The production app (``make_app``) on SQLite with a November of tickets written as rows by the
report benchmark's filler (``bench/bench_reports.py``), served by a real uvicorn. Screenshots go to
``screenshots/A/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert

from server.store.tables import events
from tests.support import make_app
from tests.support.serving import serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "screenshots" / "A"
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""
SHIFTS = ((9, "open", None), (12, "paused", "午休"), (13, "open", None), (17, "closed", None))
CHARTS = ("c-hourly", "c-wait", "c-satisfaction", "c-utilisation")

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def _staff_windows(store: Any) -> None:
    """Every window of November open 09:00–17:00 with a 午休 pause 12:00–13:00 (``window.changed`` in the outbox)."""
    tz = store.config.hall.tz
    rows = []
    for day in (dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(30)):
        for w in store.config.windows:
            for hour, st, reason in SHIFTS:
                at = int(dt.datetime.combine(day, dt.time(hour), tz).timestamp() * 1000)
                data = {"window": {"number": w.number, "state": st, "pause_reason": reason}}
                rows.append({"type": "window.changed", "topics": json.dumps(["hall"]), "data": json.dumps(data),
                             "at": at})
    with store.engine.begin() as conn:
        conn.execute(insert(events), rows)


def _fill() -> Any:
    spec = importlib.util.spec_from_file_location("bench_reports", ROOT / "bench" / "bench_reports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fill


@pytest.mark.timeout(180)
async def test_reports_page_draws_charts_and_exports(tmp_path: Path, hall_config: Any) -> None:
    from playwright.async_api import async_playwright

    app = make_app(tmp_path, hall_config)
    async with serving(app) as base:
        store = app.state.services.store
        _fill()(store, 900, 30)  # 2026-11-01 .. 2026-11-30, clerks C0001.. at their own window
        _staff_windows(store)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                context = await browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN",
                                                    timezone_id="Asia/Shanghai", accept_downloads=True)
                signed = await context.request.post(f"{base}/auth/login", max_redirects=0, form={
                    "username": "supervisor", "password": "supervisor-demo", "next": "/supervisor/reports"})
                assert signed.status in (302, 303), await signed.text()
                page = await context.new_page()
                await page.add_init_script(RECORD_CSP)
                console: list[str] = []
                page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
                response = await page.goto(f"{base}/supervisor/reports?from=2026-11-01&to=2026-11-30")
                assert response is not None and response.status == 200
                await page.wait_for_function("() => document.body.dataset.loaded === '2026-11-01..2026-11-30'",
                                             timeout=20_000)
                for chart in CHARTS:  # ECharts drew each chart on a canvas of real size
                    size = await page.evaluate(
                        f"() => {{ const c = document.querySelector('#{chart} canvas'); "
                        "return c ? [c.width, c.height] : null; }")
                    assert size is not None and size[0] > 100 and size[1] > 100, (chart, size)
                options: Any = await page.evaluate(
                    "() => window.hallqReports.charts['c-hourly'].getOption().series.map((s) => s.data)")
                report = (await context.request.get(f"{base}/api/reports/summary?from=2026-11-01&to=2026-11-30"))
                body = await report.json()
                assert options[0] == [r["issued"] for r in body["breakdowns"]["hourly"]]
                assert sum(options[0]) == body["totals"]["issued"] == 900
                kpis = await page.locator("#kpis").inner_text()
                assert "900" in kpis and "满意率" in kpis
                assert await page.locator("#t-windows tbody tr").count() == len(body["breakdowns"]["windows"])
                assert await page.locator("#t-staffing tbody tr").count() > 0
                util: Any = await page.evaluate(
                    "() => window.hallqReports.charts['c-utilisation'].getOption().series.map((s) => s.data)")
                w1 = next(r for r in body["breakdowns"]["windows"] if r["window"] == 1)
                assert w1["staffed_s"] == 30 * 7 * 3600 and w1["pauses"] == {"午休": 30 * 3600}
                assert util[0][0] == round(w1["utilisation"] * 1000) / 10 and util[1][0] == 30 * 60
                assert await page.locator("#t-assess-staff tbody tr").count() == len(
                    [r for r in body["breakdowns"]["staff"] if r["clerk"] is not None])
                SHOTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SHOTS / "reports-month.png"), full_page=True)

                # the export link downloads the same figures as a workbook
                async with page.expect_download() as info:
                    await page.click("#x-summary-xlsx")
                download = await info.value
                data = Path(await download.path()).read_bytes()
                wb = load_workbook(io.BytesIO(data))
                ws = wb["汇总"]
                header = [c.value for c in ws[1]]
                last = {h: c.value for h, c in zip(header, ws[ws.max_row], strict=True)}
                assert last["日期"] == "合计" and last["取号量"] == 900

                # "how did window 3 and clerk C0007 do in November": filter by window, then by clerk
                await page.select_option("select[name=window]", "3")
                await page.click("button.r-go")
                await page.wait_for_function("() => !document.body.dataset.loading && "
                                             "new URLSearchParams(location.search).get('window') === '3'")
                w3 = next(r for r in body["breakdowns"]["windows"] if r["window"] == 3)
                await page.wait_for_function(
                    f"() => document.querySelector('#kpis').innerText.includes('{w3['issued']}')")
                assert "window=3" in (await page.get_attribute("#x-summary-xlsx", "href") or "")
                await page.select_option("select[name=window]", "")
                await page.fill("input[name=clerk]", "C0007")
                await page.click("button.r-go")
                await page.wait_for_function("() => !document.body.dataset.loading && "
                                             "new URLSearchParams(location.search).get('clerk') === 'C0007'")
                c7 = next(r for r in body["breakdowns"]["staff"] if r["clerk"] == "C0007")
                rows = await page.locator("#t-staff tbody tr").all_inner_texts()
                assert len(rows) == 1 and rows[0].startswith("C0007") and str(c7["done"]) in rows[0]

                # Monday mornings: the staffing table for Mondays only
                await page.select_option("select[name=weekday]", "0")
                await page.wait_for_function(
                    "() => (document.querySelector('#x-staffing-xlsx').href || '').includes('weekday=0')")
                await page.screenshot(path=str(SHOTS / "reports-clerk.png"), full_page=True)
                assert await page.evaluate("() => window.__csp") == []
                assert console == []
                await context.close()
            finally:
                await browser.close()
