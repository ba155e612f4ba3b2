"""Same-origin checks for requests a browser can be tricked into sending (websocket, sign-in forms).

Browsers send ``Origin`` on websocket handshakes and cross-origin POSTs. A hall server is often
reached by IP, where every other port of that IP counts as the same *site*, so SameSite cookies
do not stop a page on another port: the origin must match this server (its ``Host`` header or the
configured ``public_url``) or one of ``HALLQ_AUTH_ALLOWED_ORIGINS``. Clients that send no Origin
(device hosts, scripts) are not browsers riding someone's cookie and pass.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.lower() if "://" in url else url.lower()


def same_origin(conn: HTTPConnection) -> bool:
    """True when the request has no Origin, or one naming this server."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    seen = _netloc(origin)
    allowed = {(conn.headers.get("host") or "").lower()}
    services = getattr(conn.app.state, "services", None)
    config = getattr(services, "config", None)
    public_url = getattr(getattr(config, "server", None), "public_url", None)
    if public_url:
        allowed.add(_netloc(str(public_url)))
    auth = getattr(services, "auth", None)
    extra = getattr(getattr(auth, "settings", None), "allowed_origins", "") or ""
    allowed |= {_netloc(o.strip()) for o in str(extra).split(",") if o.strip()}
    return seen in allowed - {""}
