"""API documentation served offline: Swagger UI from the swagger-ui-bundle package, never a CDN.

``router`` declares no access rule of its own: ``server/api/__init__.py`` includes it as a
public router (this package stays below ``server.auth``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/static/swagger"
router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """Swagger UI for /openapi.json with its assets served by hallq."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="hallq API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    """The OAuth2 redirect page of Swagger UI's Authorize button."""
    return get_swagger_ui_oauth2_redirect_html()


def mount_assets(app: FastAPI) -> None:
    """Serve the Swagger UI assets; call before the pages mount /static."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger")
