"""Device sign-in links: ``/kiosk/k1?token=hqd_…`` signs the browser in as that kiosk once.

An administrator opens the link on the kiosk or display; the answer sets the HttpOnly
session cookie and redirects to the same page without the token (so it does not stay in
the address bar or the history). A wrong token gets the device sign-in form.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server.services import services_of

PAGES = ("/kiosk/", "/display/", "/display")


class DeviceLinkMiddleware:
    """Turn ``?token=`` on a kiosk or display page into a device session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope.get("path", "").startswith(PAGES):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        token = request.query_params.get("token")
        if not token:
            await self.app(scope, receive, send)
            return
        from server.auth.pages import device_page
        from server.auth.router import _session_response, holds_account_session

        auth = services_of(request).auth
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        principal = await auth.run(auth.resolve, f"Bearer {token}", None)
        response: Response
        if await holds_account_session(request):
            response = device_page(target, "此浏览器已登录账号，请先退出 · Sign out of the account first", 409)
        elif principal is None or principal.via != "device":
            response = device_page(target, "令牌无效 · Invalid device token", 400)
        else:
            response = await auth.run(_session_response, request, principal.with_via("session"), target)
        await response(scope, receive, send)
