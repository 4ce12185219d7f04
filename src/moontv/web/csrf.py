"""Cross-site request forgery protection for the browser session.

The ``auth`` cookie is ``SameSite=Lax``, which already keeps it off cross-site POSTs from modern browsers, but
older browsers, same-site sibling hosts and "simple" requests (a ``text/plain`` body is still parsed as JSON
by the API) are not covered by that alone. So a state-changing request (anything but GET/HEAD/OPTIONS/TRACE)
is refused with 403 when all of these hold:

- it would be authenticated by the cookie: it carries the ``auth`` cookie and no ``Authorization: Bearer``
  header (a page on another origin cannot attach that header without a CORS preflight, which this server never
  grants), or it is a login/registration (login CSRF signs a victim into the attacker's account);
- the browser says where it comes from: the ``Origin`` header, or when that is absent the ``Referer`` header,
  names another origin than the one the request was sent to (``Origin: null`` counts as another origin), or
  ``Sec-Fetch-Site`` is ``cross-site``.

Native TV and mobile clients send neither ``Origin`` nor ``Referer`` and keep working, with a cookie or a
Bearer token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from moontv.auth.proxies import TrustedProxies

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LOGIN_PATHS = frozenset({"/api/login", "/api/register"})
COOKIE_NAME = "auth"
DEFAULT_PORTS = {"http": 80, "https": 443}
MESSAGE = "跨站请求已被拒绝"


def _split_host(host: str) -> tuple[str, int | None] | None:
    """``"Example.com:8080"`` -> ``("example.com", 8080)``;
    ``"[::1]"`` -> ``("[::1]", None)``, junk -> None."""
    host = host.strip().lower()
    if not host:
        return None
    try:
        parts = urlsplit("//" + host)
        port = parts.port
    except ValueError:
        return None
    name = parts.hostname
    if not name:
        return None
    if ":" in name:  # IPv6 literal: keep the brackets so it compares like the Host header
        name = f"[{name}]"
    return name, port


def _origin_of(value: str) -> tuple[str, str, int | None] | None:
    """scheme, host, port of an ``Origin``/``Referer`` value; None when it names no usable origin."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.netloc:
        return None
    host = _split_host(parts.netloc.rpartition("@")[2])
    if host is None:
        return None
    return scheme, host[0], host[1]


def same_origin(source: str, request_hosts: list[str]) -> bool:
    """Does the ``Origin``/``Referer`` value ``source`` name the host the request was sent to?

    A Host header without a port matches the source's host on its scheme's default port (TLS may end at a
    proxy, so the scheme itself is not compared); a Host header with a port needs the same effective port.
    """
    origin = _origin_of(source)
    if origin is None:
        return False
    scheme, name, port = origin
    effective = port if port is not None else DEFAULT_PORTS[scheme]
    for raw in request_hosts:
        host = _split_host(raw)
        if host is None or host[0] != name:
            continue
        if host[1] is None:
            if effective == DEFAULT_PORTS[scheme]:
                return True
        elif host[1] == effective:
            return True
    return False


def _has_cookie(headers: Headers) -> bool:
    for raw in headers.getlist("cookie"):
        for part in raw.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME and value:
                return True
    return False


class CsrfMiddleware:
    def __init__(self, app: ASGIApp, proxies: TrustedProxies | None = None) -> None:
        self.app = app
        self.proxies = proxies or TrustedProxies(())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS and self._forged(scope):
            body = orjson.dumps({"error": MESSAGE})
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _forged(self, scope: Scope) -> bool:
        headers = Headers(scope=scope)
        if headers.get("authorization", "")[:7].lower() == "bearer ":
            return False
        if not _has_cookie(headers) and scope["path"] not in LOGIN_PATHS:
            return False
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return True
        source = headers.get("origin")
        if source is None:
            source = headers.get("referer")
            if not source:
                return False  # a native client: no browser provenance headers at all
        hosts = [headers.get("host", "")]
        client = scope.get("client")
        forwarded = self.proxies.forwarded(client[0] if client else None, headers.get("x-forwarded-host"))
        if forwarded:
            hosts.append(forwarded)
        return not same_origin(source, hosts)
