"""What the client is: its address, scheme and origin. The only module that reads ``X-Forwarded-*``.

Forwarded headers count only when the trusted-proxy setting says the request came through our proxy.
"""

from __future__ import annotations

from starlette.requests import Request

from moontv.settings import Settings


def client_ip(request: Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


def is_https(request: Request, trust_proxy: bool) -> bool:
    if trust_proxy:
        proto = request.headers.get("x-forwarded-proto")
        if proto:
            return proto.split(",")[0].strip().lower() == "https"
    return request.url.scheme == "https"


def origin(request: Request, settings: Settings) -> str:
    """``scheme://host`` as the client sees this server (for URLs handed to TVBox clients)."""
    scheme = "https" if is_https(request, settings.trust_proxy) else "http"
    host = request.headers.get("host") or f"127.0.0.1:{settings.port}"
    if settings.trust_proxy and request.headers.get("x-forwarded-host"):
        host = request.headers["x-forwarded-host"].split(",")[0].strip()
    return f"{scheme}://{host}"
