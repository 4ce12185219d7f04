"""TVBox access shared by routers: who a TVBox token acts for, and the URLs handed to TVBox clients."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from moontv.auth.service import Principal
from moontv.config.view import AdminConfigView
from moontv.errors import ServiceError
from moontv.settings import Settings
from moontv.web.forwarded import origin
from moontv.web.state import AppState


async def token_principal(state: AppState, token: str | None) -> Principal | None:
    """The user a TVBox token acts for, when the token is valid and the user exists and is not banned."""
    username = await state.tvbox.resolve(token) if token else None
    if username is None:
        return None
    principal = await state.auth.principal_for(username)
    if principal is None or principal.banned:
        return None
    return principal


async def tvbox_holder(
    state: AppState, token: str | None, session: Principal | None = None
) -> tuple[str, AdminConfigView]:
    """The user a request acts for, after the enabled/token/ban checks; plus the config.
    ``session``: the signed-in user, for the routes a browser may call without a token."""
    view = await state.config.view()
    if not view.site.tvbox_enabled:
        raise ServiceError(403, "TVBox 接口未开启")
    username = await state.tvbox.resolve(token) if token else None
    if username is None and session is not None and not token:
        username = session.username
    if username is None:
        raise ServiceError(401, "令牌无效或已撤销" if token else "缺少 TVBox 令牌")
    principal = await state.auth.principal_for(username)
    if principal is None:
        raise ServiceError(401, "令牌无效或已撤销")
    if principal.banned:
        raise ServiceError(403, "用户已被封禁")
    return username, view


def tvbox_url(request: Request, settings: Settings, token: str) -> str:
    return f"{origin(request, settings)}/api/tvbox/config?token={quote(token, safe='')}"


async def token_status(request: Request, state: AppState, username: str) -> dict[str, Any]:
    """What the TVBox settings show a user about their own token (the secret itself is never shown)."""
    view = await state.config.view()
    return {
        "enabled": view.site.tvbox_enabled,
        "token": await state.tvbox.info(username),
        "url": None,
        "urlTemplate": tvbox_url(request, state.settings, "<token>"),
        "filters": ["adult", "ads"],
    }
