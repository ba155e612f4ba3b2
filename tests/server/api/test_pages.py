"""Page routes and the ticket QR code, without a browser (the browser tests are in test_pages_browser.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.api.pages import qr_svg
from server.app import create_app
from server.config import load_config
from server.http.pages import bundle_dir
from server.settings import DEMO_CONFIG, Settings


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hall.db'}", event_poll_seconds=0)
    # the pages do not need devices; the demo's simulated ones would only slow these tests down
    config = load_config(DEMO_CONFIG).model_copy(update={"devices": []})
    app = create_app(settings, config=config)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/", "/kiosk/k1", "/clerk", "/display/hall", "/display/window/3", "/supervisor", "/supervisor/video"])
def test_pages_render_with_the_hall_name(pages: TestClient, path: str) -> None:
    r = pages.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "示范区政务服务中心" in r.text
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        assert pages.get(src).status_code == 200, src


def test_landing_page_links_every_page(pages: TestClient) -> None:
    html = pages.get("/").text
    for link in ('href="/kiosk/k1', 'href="/clerk"', 'href="/display/hall', 'href="/display/window/1',
                 'href="/supervisor"', 'href="/supervisor/video"', 'href="/docs"'):
        assert link in html, link
    # Chinese first on every card, and no demo token outside demo mode
    assert html.index("取号机") < html.index("Kiosk") and "hqd_demo" not in html


def test_docs_page_serves_swagger_ui_5_from_this_server(pages: TestClient) -> None:
    html = pages.get("/docs").text
    srcs = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert "/static/swagger/swagger-ui-bundle.js" in srcs and "/static/docs.js" in srcs
    bundle = pages.get("/static/swagger/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "3.1" in pages.get("/openapi.json").json()["openapi"]
    # Swagger UI 5 is the first major version that reads OpenAPI 3.1 documents
    assert re.search(r'PACKAGE_VERSION:"5\.\d+\.\d+"', bundle.text)


def test_no_show_sentence_follows_the_policy(pages: TestClient) -> None:
    from displays import wording
    assert wording.no_show_sentence(30) == "过号30分钟内请向窗口工作人员说明，逾时请重新取号"
    assert wording.no_show_sentence(0) == "过号请重新取号"
    minutes = pages.app.state.services.config.policy.callback_minutes  # type: ignore[attr-defined]
    assert f'data-no-show="{wording.no_show_sentence(minutes)}"' in pages.get("/display/hall").text


def test_unknown_kiosk_or_window_is_404(pages: TestClient) -> None:
    assert pages.get("/kiosk/nope").status_code == 404
    assert pages.get("/display/window/99").status_code == 404


def test_kiosk_page_carries_its_service_subset(pages: TestClient) -> None:
    assert 'data-services="market,tax,joint,general"' in pages.get("/kiosk/k2").text


def test_citizen_page_and_qr_code(pages: TestClient) -> None:
    held = pages.app.state.services.store.issue("general", channel="kiosk", kiosk="k1").value  # type: ignore[attr-defined]
    ticket = {"id": held.ticket.id, "number": held.ticket.number, "token": held.token}
    page = pages.get(f"/t/{ticket['token']}")
    assert page.status_code == 200
    assert ticket["number"] in page.text and f'data-ticket="{ticket["id"]}"' in page.text
    qr = pages.get(f"/api/tickets/{ticket['token']}/qr.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.content.lstrip().startswith(b"<?xml") and b"<svg" in qr.content
    assert pages.get("/t/unknown-token").status_code == 404
    assert pages.get("/api/tickets/unknown-token/qr.svg").status_code == 404


def test_qr_svg_grows_with_its_content() -> None:
    small, large = qr_svg("http://h/t/a"), qr_svg("http://hall.example/t/" + "x" * 200)
    assert b"<svg" in small and len(large) > len(small)


def test_catalogues_have_the_same_keys() -> None:
    zh = json.loads((bundle_dir("displays", "static") / "i18n" / "zh-CN.json").read_text("utf-8"))
    en = json.loads((bundle_dir("displays", "static") / "i18n" / "en.json").read_text("utf-8"))
    assert set(zh) == set(en)
    assert all(isinstance(v, str) and v for v in zh.values())


def test_every_i18n_key_used_in_templates_exists() -> None:
    zh = json.loads((bundle_dir("displays", "static") / "i18n" / "zh-CN.json").read_text("utf-8"))
    roots = [bundle_dir("displays", "templates"), bundle_dir("kiosk", "templates")]
    used = {key for root in roots for f in root.rglob("*.html")
            for key in re.findall(r'data-i18n="([^"]+)"', f.read_text("utf-8"))}
    assert used and used <= set(zh), used - set(zh)
