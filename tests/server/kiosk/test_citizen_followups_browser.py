"""In Chromium against ``hallq serve --demo``: citizen-facing loose ends of issue 18.

- a tap abandoned by the idle reset before its answer is settled on the next home screen
  (server/kiosk/reconcile.py): printed → kept, not printed → cancelled; one ticket at most;
- the kiosk in English shows the services' and categories' ``name_en`` (``localName``);
- the hall screen's English availability labels fit their column;
- the phone page shows the ETA range (约 lo–hi 分钟) of an uncertain estimate.
Screenshots: screenshots/R7/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from server.queue.availability import LABELS
from tests.server.api import test_pages_browser as harness
from tests.server.api.test_pages_browser import HD, PHONE, ROOT, Server, live

playwright, browser, open_page = harness.playwright, harness.browser, harness.open_page
SHOTS = ROOT / "screenshots" / "R7"
K1 = "hqd_demo-kiosk-k1"
ISSUE = "**/api/kiosks/k1/tickets"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("r7"))
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()
        srv.client.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def kiosk(open_page: Callable[..., Page], query: str = "") -> Page:
    page = open_page(f"/kiosk/k1{query}", HD, device=K1)
    live(page)
    expect(page.locator(".k-svc").first).to_be_visible()
    return page


def tap(page: Page, code: str) -> None:
    page.click(f".k-svc[data-code={code}]")
    if page.locator("#confirm").is_visible():
        page.click("#confirm-yes")


def next_ticket(server: Server) -> int:
    """The id the next ticket will get: one staff ticket now (tests of a module run one at a time)."""
    return int(harness.issue(server, "general")["id"]) + 1


def ticket(server: Server, ticket_id: int) -> dict[str, Any]:
    r = server.api("GET", f"/api/tickets/{ticket_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def no_ticket(server: Server, ticket_id: int) -> bool:
    return server.api("GET", f"/api/tickets/{ticket_id}").status_code == 404


def _printer_faults(server: Server) -> list[str]:
    devices = server.api("GET", "/api/devices").json()
    items = devices["devices"] if isinstance(devices, dict) else devices
    entry = next((d for d in items if d.get("id") == "printer-k1"), {})
    return list((entry.get("health") or {}).get("faults") or [])


def abandon_a_tap(page: Page, code: str) -> list[str]:
    """Tap; the server issues but the answer never comes back; the idle reset abandons the tap."""
    keys: list[str] = []

    def issue_then_hang(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        route.fetch()  # the server issues (and prints, or fails to) …
        # … and the answer never reaches the page: the request stays pending until the reset aborts it

    page.route(ISSUE, issue_then_hang)
    tap(page, code)
    expect(page.locator("#busy")).to_be_visible()
    expect(page.locator("#home")).to_be_visible(timeout=20_000)  # the idle reset
    return keys


def test_an_abandoned_printed_tap_is_kept_and_never_doubled(open_page: Callable[..., Page], server: Server) -> None:
    page = kiosk(open_page, "?idle=4&net=30&reconcile=1")
    first = next_ticket(server)
    keys = abandon_a_tap(page, "civil")
    expect(page.locator("body")).to_have_attribute("data-reconciled", "printed", timeout=15_000)
    shot(page, "kiosk-home-after-abandoned-printed-tap")
    assert len(keys) == 1
    kept = ticket(server, first)
    assert (kept["service"], kept["state"]) == ("civil", "issued")  # kept: its paper exists
    assert no_ticket(server, first + 1)  # one tap, one ticket
    assert page.evaluate("localStorage.getItem('hallq.kiosk.k1.abandoned')") is None  # settled, not asked again


def test_an_abandoned_unprinted_tap_is_cancelled(open_page: Callable[..., Page], server: Server) -> None:
    assert server.api("POST", "/api/sim/printer-k1/fault", json={"fault": "paper_out"}).status_code == 200
    try:
        deadline = time.monotonic() + 15
        while "paper_out" not in _printer_faults(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        page = kiosk(open_page, "?idle=4&net=30&reconcile=1")
        first = next_ticket(server)
        abandon_a_tap(page, "estate")
        expect(page.locator("body")).to_have_attribute("data-reconciled", "cancelled", timeout=15_000)
        gone = ticket(server, first)
        assert (gone["service"], gone["state"]) == ("estate", "cancelled")  # nobody holds it: no silent no-show
        assert no_ticket(server, first + 1)
    finally:
        server.api("POST", "/api/sim/printer-k1/fault", json={"fault": None})


def test_the_kiosk_in_english_shows_the_english_names(open_page: Callable[..., Page], server: Server) -> None:
    page = kiosk(open_page)
    page.click("#lang")
    expect(page.locator(".k-svc[data-code=general] .k-svc-name")).to_have_text("General services")
    expect(page.locator(".k-svc[data-code=social] .k-svc-name")).to_have_text("Social insurance")
    expect(page.locator(".k-cat h2").first).to_have_text("General windows")
    shot(page, "kiosk-english-home")
    tap(page, "social")
    expect(page.locator("#ticket")).to_be_visible()
    expect(page.locator("#t-service")).to_have_text("Social insurance")
    shot(page, "kiosk-english-ticket")


def test_the_hall_screens_english_availability_fits_its_column(open_page: Callable[..., Page],
                                                               server: Server) -> None:
    page = open_page("/display/hall?lang=en", HD, device="hqd_demo-display-hall")
    live(page)
    cells = page.locator("#waiting tr td:nth-child(3)")
    expect(cells.first).to_be_visible()
    shot(page, "hall-english")
    overflow = page.evaluate("""() => {
      const box = document.querySelector('.h-wait').getBoundingClientRect();
      return [...document.querySelectorAll('#waiting tr td:nth-child(3)')].map((td) => {
        const r = td.getBoundingClientRect();
        return {text: td.textContent, clipped: td.scrollWidth > td.clientWidth + 1, outside: r.right > box.right + 1};
      }).filter((c) => c.clipped || c.outside);
    }""")
    assert overflow == [], overflow
    texts = page.locator("#waiting tr td:nth-child(3)").all_inner_texts()
    assert any("window" in t.lower() or "hours" in t.lower() for t in texts), texts  # English labels shown
    # every English label the column can show (availability and refusal reasons), in the rendered font
    en = json.loads((ROOT / "displays" / "static" / "i18n" / "en.json").read_text(encoding="utf-8"))
    labels = [v[1] for v in LABELS.values()] + [v for k, v in en.items() if k.startswith("reason.")]
    labels.append(en["hall.unavailable"])
    clipped = page.evaluate("""(labels) => {
      const box = document.querySelector('.h-wait').getBoundingClientRect();
      const tds = [...document.querySelectorAll('#waiting tr td:nth-child(3)')];
      const keep = tds.map((td) => [td.textContent, td.className]);
      const out = [];
      for (const label of labels) {
        for (const td of tds) { td.textContent = label; td.className = 'off'; }
        for (const td of tds) {
          const r = td.getBoundingClientRect();
          if (td.scrollWidth > td.clientWidth + 1 || r.right > box.right + 1 || r.bottom > box.bottom + 1) {
            out.push(label); break;
          }
        }
      }
      tds.forEach((td, i) => { td.textContent = keep[i][0]; td.className = keep[i][1]; });
      return out;
    }""", labels)
    assert clipped == [], clipped
    longest = max(labels, key=len)
    page.evaluate("(l) => document.querySelectorAll('#waiting tr td:nth-child(3)').forEach((td) => {"
                  " td.textContent = l; td.className = 'off'; })", longest)
    shot(page, "hall-english-longest-label")


def test_the_phone_page_shows_the_eta_range(open_page: Callable[..., Page], server: Server) -> None:
    # window 10 serves 不动产 (estate) as 主办 and 公积金 (fund) as 兼办: fund's wait is uncertain
    assert server.api("POST", "/api/windows/10/open", json={}).status_code == 200
    try:
        harness.issue(server, "estate")
        harness.issue(server, "fund")
        ticket = harness.issue(server, "fund")
        view = server.api("GET", f"/api/tickets/{ticket['id']}").json()
        assert view["eta_range"], view  # the engine gives a range here (server/queue/)
        lo, hi = view["eta_range"]
        phone = open_page(f"/t/{ticket['token']}", PHONE)
        live(phone)
        expect(phone.locator("#c-eta")).to_have_text(f"约 {lo}–{hi} 分钟")
        shot(phone, "phone-eta-range")
    finally:
        server.api("POST", "/api/windows/10/close", json={})
