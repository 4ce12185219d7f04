"""TVBox access shared by routers: who a TVBox token acts for, and the URLs handed to TVBox clients."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request

from moontv.auth.service import Principal
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


def tvbox_url(request: Request, settings: Settings, token: str) -> str:
    return f"{origin(request, settings)}/api/tvbox/config?token={quote(token, safe='')}"
