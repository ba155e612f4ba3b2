"""Every page runs under ``script-src 'self'; style-src 'self'``: no inline script or style anywhere.

The templates of the page system are parsed with ``html.parser`` (raw, and as the app renders
them); the Python sources are searched for HTML built outside the page system.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.auth.pages import device_page, login_page, password_page
from server.config import load_config
from server.http.pages import templates
from server.settings import DEMO_CONFIG
from tests.support import make_app

ROOT = Path(__file__).resolve().parents[3]
JS_URL = ("javascript:", "data:text/html")


class InlineFinder(HTMLParser):
    """Collects every construct the CSP would block: inline scripts, styles, handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        line = self.getpos()[0]
        if tag == "script" and not names.get("src"):
            self.found.append(f"line {line}: <script> without src")
        if tag == "style":
            self.found.append(f"line {line}: <style>")
        if tag == "link" and names.get("rel", "").lower() == "stylesheet" and not names.get("href", "").startswith("/"):
            self.found.append(f"line {line}: stylesheet not from this server")
        for name, value in names.items():
            if name == "style":
                self.found.append(f"line {line}: style= on <{tag}>")
            if name.startswith("on"):
                self.found.append(f"line {line}: {name}= on <{tag}>")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith(JS_URL):
                self.found.append(f"line {line}: {name}={value[:20]} on <{tag}>")


def inline(html: str) -> list[str]:
    """What in ``html`` the app's CSP would refuse."""
    finder = InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def test_the_finder_sees_every_kind_of_inline_code() -> None:
    bad = ('<script>alert(1)</script><style>p{}</style><p style="color:red" onclick="x()">'
           '<a href="javascript:x()">a</a><script type="application/json">{}</script>')
    assert len(inline(bad)) == 6
    assert inline('<script type="module" src="/static/x.js"></script><link rel="stylesheet" href="/static/x.css">'
                  '<p data-style="x" class="on">') == []


def all_templates() -> Iterator[tuple[str, Path]]:
    for package, name, path in templates():
        yield f"{package}/{name}", path


def test_every_bundle_has_its_templates() -> None:
    names = {name for name, _ in all_templates()}
    assert {"kiosk/kiosk.html", "displays/video.html", "displays/supervisor.html",
            "displays/signin/login.html"} <= names


@pytest.mark.parametrize(("name", "path"), list(all_templates()), ids=lambda v: v if isinstance(v, str) else "")
def test_template_has_no_inline_script_or_style(name: str, path: Path) -> None:
    assert inline(path.read_text("utf-8")) == [], name


def test_no_html_files_outside_the_page_bundles() -> None:
    bundles = {ROOT / "kiosk" / "templates", ROOT / "displays" / "templates"}
    stray = [p for folder in ("server", "drivers", "kiosk", "displays") for p in (ROOT / folder).rglob("*.html")
             if not any(b in p.parents for b in bundles)]
    assert stray == []


def test_no_python_module_builds_inline_script_or_style() -> None:
    offenders = []
    for folder in ("server", "drivers", "displays", "kiosk"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text("utf-8").lower()
            if "<script" in text or "<style" in text or "style=\"" in text or " onclick=" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_sign_in_forms_render_clean() -> None:
    for response in (login_page("示范大厅", "/clerk", error="用户名或密码错误", username='a"b', window="3"),
                     password_page("csrf-x", "/clerk", note="请修改密码"), device_page("/display/hall", "令牌无效")):
        html = bytes(response.body).decode()
        assert inline(html) == [] and 'href="/static/signin.css"' in html
        assert response.headers["cache-control"] == "no-store"
    html = bytes(login_page("示范大厅", "/x", username='"><script>x</script>').body).decode()
    assert "<script>" not in html and "&#34;&gt;&lt;script&gt;" in html  # autoescaped


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[TestClient]:
    config = load_config(DEMO_CONFIG).model_copy(update={"devices": []})
    with TestClient(make_app(tmp_path, config), raise_server_exceptions=False) as client:
        yield client


PAGES = ["/kiosk/k1", "/clerk", "/display/hall", "/display/window/3", "/supervisor", "/supervisor/video",
         "/auth/login", "/auth/device", "/t/unknown-token"]


def test_rendered_pages_are_csp_clean(pages: TestClient) -> None:
    for path in PAGES:
        r = pages.get(path, follow_redirects=False)
        assert r.status_code in (200, 404), (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), path
        assert "script-src 'self'" in r.headers["content-security-policy"], path
        assert inline(r.text) == [], path
