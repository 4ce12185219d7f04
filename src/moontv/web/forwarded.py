"""What the client is: its address, scheme and host. The only module that reads ``X-Forwarded-*``.

Forwarded headers count only when the request comes from a trusted proxy (``settings.proxies``).
"""

from __future__ import annotations

from starlette.requests import Request

from moontv.settings import Settings


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def client_ip(request: Request, settings: Settings) -> str:
    """The client's address; ``X-Forwarded-For`` counts only from a trusted proxy.

    Every ``X-Forwarded-For`` line counts, in order: HAProxy's ``option forwardfor`` adds its own
    line after the one the client sent, so reading only the first line would believe the client."""
    chain = ", ".join(request.headers.getlist("x-forwarded-for"))
    return settings.proxies.client_address(_peer(request), chain or None)


def public_host(request: Request, settings: Settings) -> str:
    """The host the client asked for; ``X-Forwarded-Host`` counts only from a trusted proxy."""
    forwarded = settings.proxies.forwarded(_peer(request), request.headers.get("x-forwarded-host"))
    return forwarded or request.headers.get("host") or f"127.0.0.1:{settings.port}"


def is_https(request: Request, settings: Settings) -> bool:
    proto = settings.proxies.forwarded(_peer(request), request.headers.get("x-forwarded-proto"))
    if proto:
        return proto.lower() == "https"
    return request.url.scheme == "https"


def origin(request: Request, settings: Settings) -> str:
    """``scheme://host`` as the client sees this server (for URLs handed to TVBox clients)."""
    scheme = "https" if is_https(request, settings) else "http"
    return f"{scheme}://{public_host(request, settings)}"
