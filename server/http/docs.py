"""API documentation served offline: Swagger UI 5 vendored in ``displays/static/swagger/``, never a CDN.

Swagger UI 5 reads the OpenAPI 3.1 document FastAPI serves (the swagger-ui-bundle package's
3.20 could not: "Unable to render this definition"). The page is a template of the page system
(``displays/templates/docs.html``) started by ``displays/static/docs.js``, so it needs no inline script.

``router`` declares no access rule of its own: ``server/api/__init__.py`` includes it as a
public router (this package stays below ``server.auth``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from server.http.pages import bundle_dir, render

ASSETS = "/static/swagger"
router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """Swagger UI for /openapi.json with its assets served by hallq."""
    return render("docs.html", {"openapi_url": "/openapi.json", "oauth2_redirect_url": "/docs/oauth2-redirect"})


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    """The OAuth2 redirect page of Swagger UI's Authorize button."""
    return get_swagger_ui_oauth2_redirect_html()


def mount_assets(app: FastAPI) -> None:
    """Serve the Swagger UI assets; call before the pages mount /static."""
    app.mount(ASSETS, StaticFiles(directory=bundle_dir("displays", "static") / "swagger"), name="swagger")
