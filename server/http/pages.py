"""The one page system: every page is a Jinja template plus a static JS/CSS bundle.

Bundles are Python packages found with ``importlib.resources`` (no path arithmetic):

- ``kiosk`` — the kiosk's UI: ``kiosk/templates/``, ``kiosk/static/`` at ``/static/kiosk/``;
- ``displays`` — every screen and console (hall, window, citizen ticket, clerk, supervisor,
  video wall, sign-in forms): ``displays/templates/``, ``displays/static/`` at ``/static/``;
  ``displays/static/common/`` is the JS and CSS every page shares (the kiosk imports it too).

Pages run under the app's CSP (``script-src 'self'; style-src 'self'``): templates hold no
inline script or style element, no style attribute and no event-handler attribute; only
script and stylesheet files of the bundle, and ``data-*`` attributes its JS reads
(``tests/server/http/test_templates.py`` parses every template to keep it so).
This module imports nothing of the routers or of ``server.auth``; the routes are in
``server/api/pages.py`` and the sign-in forms render through :func:`render` too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

# package → URL prefix of its static folder; the more specific prefix first (Starlette matches mounts in order)
BUNDLES: dict[str, str] = {"kiosk": "/static/kiosk", "displays": "/static"}

environment = Environment(
    loader=ChoiceLoader([PackageLoader(package, "templates") for package in BUNDLES]),
    autoescape=select_autoescape(["html"]),
)


def bundle_dir(package: str, folder: str) -> Path:
    """A bundle's folder on disk (``templates`` or ``static``), found through ``importlib.resources``."""
    resource = files(package).joinpath(folder)
    if not isinstance(resource, Path) or not resource.is_dir():
        raise RuntimeError(f"page bundle {package}/{folder} is not installed as a folder")
    return resource


def render(template: str, context: Mapping[str, Any] | None = None, *, status: int = 200,
           headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """Render one page template to an HTML response."""
    html = environment.get_template(template).render(**(context or {}))
    return HTMLResponse(html, status_code=status, headers=dict(headers or {}))


def templates() -> Iterator[tuple[str, str, Path]]:
    """Every page template: (package, name, file) — for the CSP checks of the tests."""
    for package in BUNDLES:
        root = bundle_dir(package, "templates")
        for path in sorted(root.rglob("*.html")):
            yield package, path.relative_to(root).as_posix(), path


def mount_static(app: FastAPI) -> None:
    """Serve every bundle's static folder under its prefix (call after the routers are included)."""
    for package, prefix in BUNDLES.items():
        name = "static" if prefix == "/static" else f"{package}-static"
        app.mount(prefix, StaticFiles(directory=bundle_dir(package, "static")), name=name)
