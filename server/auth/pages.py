"""The small HTML forms of signing in: account sign-in, password change, device sign-in."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse


def safe_next(target: str | None, default: str = "/clerk") -> str:
    """A same-site path to go to after signing in (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target[:512]


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="/auth/auth.css"></head>'
            f"<body><main>{body}</main></body></html>")
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _message(error: str | None, note: str | None) -> str:
    out = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    return out + (f'<div class="note">{escape(note)}</div>' if note else "")


def login_page(hall: str, next_url: str, error: str | None = None, status: int = 200,
               username: str = "", window: str = "") -> HTMLResponse:
    """The sign-in form (窗口人员请填写窗口号)."""
    body = (f"<h1>{escape(hall)}</h1><p class=sub>工作人员登录 · Staff sign-in</p>{_message(error, None)}"
            '<form method="post" action="/auth/login">'
            f'<input type="hidden" name="next" value="{escape(next_url)}">'
            '<label for="u">工号 / 用户名 · User</label>'
            f'<input id="u" name="username" autocomplete="username" required maxlength="64" value="{escape(username)}">'
            '<label for="p">密码 · Password</label>'
            '<input id="p" name="password" type="password" autocomplete="current-password" required maxlength="256">'
            '<label for="w">窗口号 · Window (窗口人员)</label>'
            f'<input id="w" name="window" inputmode="numeric" pattern="[0-9]*" maxlength="3" value="{escape(window)}">'
            '<button type="submit">登录 Sign in</button></form>')
    return _page("登录", body, status)


def password_page(csrf: str, next_url: str, error: str | None = None, note: str | None = None,
                  status: int = 200) -> HTMLResponse:
    """The password change form (first sign-in must change the one-time password)."""
    body = (f"<h1>修改密码</h1><p class=sub>Change password</p>{_message(error, note)}"
            '<form method="post" action="/auth/password">'
            f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
            f'<input type="hidden" name="next" value="{escape(next_url)}">'
            '<label for="o">当前密码 · Current password</label>'
            '<input id="o" name="old_password" type="password" autocomplete="current-password" required '
            'maxlength="256">'
            '<label for="n">新密码（至少8位）· New password</label>'
            '<input id="n" name="new_password" type="password" autocomplete="new-password" required minlength="8" '
            'maxlength="256"><button type="submit">保存 Save</button></form>')
    return _page("修改密码", body, status)


def device_page(next_url: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    """Sign a kiosk or display browser in with its device token (once, by an administrator)."""
    body = (f"<h1>设备登录</h1><p class=sub>Device sign-in (kiosk / display)</p>{_message(error, None)}"
            '<form method="post" action="/auth/device">'
            f'<input type="hidden" name="next" value="{escape(next_url)}">'
            '<label for="t">设备令牌 · Device token</label>'
            '<input id="t" name="token" type="password" required maxlength="256" autocomplete="off">'
            '<button type="submit">登录 Sign in</button></form>')
    return _page("设备登录", body, status)
