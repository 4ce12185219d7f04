"""Request-scoped dependencies: the app state, the caller (by role), tokens, the client address.

Routes declare who may call them with the aliases below; nothing checks roles imperatively:

- ``OptionalUser``: the signed-in principal or None;
- ``CurrentUser``: signed in (401 otherwise; 503 while no PASSWORD is configured);
- ``ActiveUser``: signed in and not banned;
- ``AdminUser`` / ``OwnerUser``: signed in with that role (403 otherwise), see ``admin_only``/``owner_only``
  for routes that answer MoonTV's route-specific 403 message;
- ``PageUser``: for HTML pages: signed in, or a redirect (``/warning`` without PASSWORD, else 303 to
  ``/login?redirect=<this URL with its query>``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from moontv.auth.service import Principal
from moontv.errors import ServiceError
from moontv.web.state import AppState

COOKIE_NAME = "auth"
FORBIDDEN = "权限不足"


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.moontv
    return state


State = Annotated[AppState, Depends(get_state)]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme checked), else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def request_token(request: Request) -> str | None:
    """The session token: a Bearer header (native clients) or the ``auth`` cookie (browsers)."""
    return bearer_token(request) or request.cookies.get(COOKIE_NAME)


async def optional_user(request: Request, state: State) -> Principal | None:
    cached = request.scope.get("moontv.principal", False)
    if cached is not False:
        principal: Principal | None = cached
        return principal
    principal = await state.auth.authenticate(request_token(request))
    request.scope["moontv.principal"] = principal
    return principal


async def require_user(request: Request, state: State) -> Principal:
    if not state.settings.password:
        raise ServiceError(503, "站点未设置 PASSWORD 环境变量，已锁定；请设置后重启")
    principal = await optional_user(request, state)
    if principal is None:
        raise ServiceError(401, "Unauthorized")
    return principal


async def require_active_user(request: Request, state: State) -> Principal:
    """A signed-in user who is not banned (the user-data routes' rule)."""
    principal = await require_user(request, state)
    if principal.banned:
        raise ServiceError(401, "用户已被封禁")
    return principal


def admin_only(message: str = FORBIDDEN) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller is an owner or (not banned) admin, else 403 ``message``."""

    async def dependency(user: Annotated[Principal, Depends(require_user)]) -> Principal:
        if not user.is_admin:
            raise ServiceError(403, message)
        return user

    return dependency


def owner_only(message: str = FORBIDDEN) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller is the site owner, else 403 ``message``."""

    async def dependency(user: Annotated[Principal, Depends(require_user)]) -> Principal:
        if user.role != "owner":
            raise ServiceError(403, message)
        return user

    return dependency


class PageRedirect(Exception):
    """Raised by ``PageUser``: the page cannot be shown; the app answers with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.headers.get("location", ""))
        self.response = response


async def require_page_user(request: Request, state: State) -> Principal:
    if not state.settings.password:
        raise PageRedirect(RedirectResponse("/warning", 307))
    principal = await optional_user(request, state)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise PageRedirect(RedirectResponse("/login?redirect=" + quote(target, safe=""), 303))
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(require_user)]
ActiveUser = Annotated[Principal, Depends(require_active_user)]
AdminUser = Annotated[Principal, Depends(admin_only())]
OwnerUser = Annotated[Principal, Depends(owner_only())]
PageUser = Annotated[Principal, Depends(require_page_user)]
