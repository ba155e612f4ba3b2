"""The video wall in headless Chromium under the app's CSP: no violation, no console error, live streams.

The production app in demo mode with the demo camera simulator, served by a real uvicorn.
The screenshot goes to ``screenshots/video-wall.png`` at the repository root (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.server.api.test_video import bearer, camera_config, serve
from tests.support import make_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[3] / "screenshots"
# Runs before any page script (injected by the browser, not by the page): records what the CSP blocked.
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


@pytest.mark.timeout(120)
async def test_video_wall_runs_under_the_csp_and_shows_the_streams(tmp_path: Path) -> None:
    import httpx
    from playwright.async_api import async_playwright

    app = make_app(tmp_path, camera_config(tmp_path, stream_width=640), demo=True)
    async with serve(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            await bearer(client, "supervisor")  # the demo accounts are there
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                # signed out: the wall's script sends the browser to the staff sign-in form and back
                anonymous = await browser.new_page()
                await anonymous.goto(f"{base}/supervisor/video")
                await anonymous.wait_for_url(f"{base}/auth/login?next={quote('/supervisor/video', safe='')}")
                await anonymous.close()

                context = await browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
                signed = await context.request.post(f"{base}/auth/login", max_redirects=0, form={
                    "username": "supervisor", "password": "supervisor-demo", "next": "/supervisor/video"})
                assert signed.status in (302, 303), await signed.text()
                page = await context.new_page()
                await page.add_init_script(RECORD_CSP)
                console: list[str] = []
                page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
                response = await page.goto(f"{base}/supervisor/video")
                assert response is not None and response.status == 200
                assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
                await page.wait_for_function(
                    "() => { const i = document.querySelector('img[data-camera=\"camera-1\"]');"
                    " return i && i.naturalWidth > 0; }", timeout=20_000)
                tile = page.locator("figure[data-camera='camera-1']")
                await tile.wait_for()
                size: Any = await page.evaluate(
                    "() => { const i = document.querySelector('img[data-camera]');"
                    " return [i.naturalWidth, i.naturalHeight]; }")
                assert size == [640, 480]
                # the stylesheet applied (a blocked video.css would leave the browser's white default)
                background = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
                assert background == "rgb(17, 17, 17)"
                assert "窗口 1、2、3、4" in await tile.inner_text() and "等候区" in await tile.inner_text()
                assert await page.title() == "视频监控 · 示范区政务服务中心"
                await page.wait_for_function("() => document.querySelector('#clock').textContent !== ''")
                SHOTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(SHOTS / "video-wall.png"))
                assert await page.evaluate("() => window.__csp") == []
                assert console == []
                await context.close()
            finally:
                await browser.close()
