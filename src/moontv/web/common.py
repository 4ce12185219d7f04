"""Helpers shared by routers: the session cookie, source lookup by allow-list, versioned config writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from moontv.auth.service import Principal
from moontv.config.admin import available_sites
from moontv.errors import ServiceError
from moontv.sources.models import ApiSite
from moontv.userdata.models import record_key
from moontv.web.deps import COOKIE_NAME
from moontv.web.forwarded import is_https
from moontv.web.responses import NO_STORE, json_response
from moontv.web.state import AppState


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


def find_site(
    config: dict[str, Any],
    user: Principal | str,
    key: str,
    *,
    status: int = 404,
    message: str | None = None,
    **extra: Any,
) -> ApiSite:
    """The source ``key`` if ``user`` may use it (enabled, and allowed by the user's or group's
    allow-list); else ``status`` (404) with ``message`` (default ``未找到指定的视频源: <key>``). Every
    route that takes a source looks it up here."""
    username = user if isinstance(user, str) else user.username
    site = next((s for s in available_sites(config, username) if s.key == key), None)
    if site is None:
        raise ServiceError(status, message or f"未找到指定的视频源: {key}", **extra)
    return site


def expected_version(request: Request, body: dict[str, Any] | None = None) -> int | None:
    """The config version a write was based on: body ``version`` or an ``If-Match`` header."""
    raw: Any = None
    if body is not None and body.get("version") is not None:
        raw = body["version"]
    elif request.headers.get("if-match"):
        raw = request.headers["if-match"].strip().removeprefix("W/").strip('"')
    if raw is None:
        return None
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or str(int(text)) != text:
        raise ServiceError(400, "version 参数格式错误")
    return int(text)


async def apply_change(
    state: AppState, mutate: Callable[[dict[str, Any]], None], version: int | None, **extra: Any
) -> Response:
    """Apply ``mutate`` to the admin config (409 when ``version`` is stale) and answer the new version."""
    snapshot = await state.config.update(mutate, expected_version=version)
    return json_response({"ok": True, "version": snapshot.version, **extra}, headers=NO_STORE)


def split_key(key: Any, message: str = "Invalid key format") -> tuple[str, str]:
    """``"{source}+{id}"`` (``moontv.userdata.models.record_key``), else 400 ``message``."""
    try:
        source, _, vod_id = record_key(key).partition("+")
    except ValueError:
        raise ServiceError(400, message) from None
    return source, vod_id
