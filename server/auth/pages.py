"""The sign-in forms: account sign-in, password change, device sign-in.

The HTML is in the page system (``displays/templates/signin/``, styled by
``displays/static/signin.css``); these functions only choose the template and its values.
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from server.http.pages import render

NO_STORE = {"Cache-Control": "no-store"}


def safe_next(target: str | None, default: str = "/clerk") -> str:
    """A same-site path to go to after signing in (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target[:512]


def login_page(hall: str, next_url: str, error: str | None = None, status: int = 200,
               username: str = "", window: str = "") -> HTMLResponse:
    """The sign-in form (窗口人员请填写窗口号)."""
    return render("signin/login.html", {"hall_name": hall, "next_url": next_url, "error": error,
                                        "username": username, "window": window}, status=status, headers=NO_STORE)


def password_page(csrf: str, next_url: str, error: str | None = None, note: str | None = None,
                  status: int = 200) -> HTMLResponse:
    """The password change form (first sign-in must change the one-time password)."""
    return render("signin/password.html", {"csrf": csrf, "next_url": next_url, "error": error, "note": note},
                  status=status, headers=NO_STORE)


def device_page(next_url: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    """Sign a kiosk or display browser in with its device token (once, by an administrator)."""
    return render("signin/device.html", {"next_url": next_url, "error": error}, status=status, headers=NO_STORE)
