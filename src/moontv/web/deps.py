"""Request-scoped dependencies: the app state, the signed-in principal, client address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from moontv.auth.service import Principal
from moontv.settings import Settings
from moontv.web.responses import ApiError
from moontv.web.state import AppState

COOKIE_NAME = "auth"


def get_state(request: Request) -> AppState:
    return request.app.state.moontv  # type: ignore[no-any-return]


State = Annotated[AppState, Depends(get_state)]


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME)


async def optional_user(request: Request, state: State) -> Principal | None:
    cached = request.scope.get("moontv.principal", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    principal = await state.auth.authenticate(request_token(request))
    request.scope["moontv.principal"] = principal
    return principal


async def require_user(request: Request, state: State) -> Principal:
    if not state.settings.password:
        raise ApiError(503, "站点未设置 PASSWORD 环境变量，已锁定；请设置后重启")
    principal = await optional_user(request, state)
    if principal is None:
        raise ApiError(401, "Unauthorized")
    return principal


async def require_active_user(request: Request, state: State) -> Principal:
    """A signed-in user who is not banned (the user-data routes' rule)."""
    principal = await require_user(request, state)
    if principal.banned:
        raise ApiError(401, "用户已被封禁")
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(require_user)]
ActiveUser = Annotated[Principal, Depends(require_active_user)]


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def client_ip(request: Request, settings: Settings) -> str:
    """The client's address; ``X-Forwarded-For`` counts only from a trusted proxy."""
    return settings.proxies.client_address(_peer(request), request.headers.get("x-forwarded-for"))


def public_host(request: Request, settings: Settings) -> str:
    """The host the client asked for; ``X-Forwarded-Host`` counts only from a trusted proxy."""
    forwarded = settings.proxies.forwarded(_peer(request), request.headers.get("x-forwarded-host"))
    return forwarded or request.headers.get("host") or f"127.0.0.1:{settings.port}"


def set_session_cookie(response: Response, request: Request, state: AppState, token: str) -> None:
    """The ``auth`` cookie: HttpOnly, SameSite=Lax, Secure when the client talks HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=state.auth.signer.ttl_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request, state.settings),
    )


def is_https(request: Request, settings: Settings) -> bool:
    proto = settings.proxies.forwarded(_peer(request), request.headers.get("x-forwarded-proto"))
    if proto:
        return proto.lower() == "https"
    return request.url.scheme == "https"
