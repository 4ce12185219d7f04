"""Login, logout, registration, password change, server discovery, online ping."""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv import __version__
from moontv.auth.service import Principal
from moontv.errors import ServiceError
from moontv.web.common import set_session_cookie
from moontv.web.deps import COOKIE_NAME, ActiveUser, CurrentUser, State, request_token
from moontv.web.forwarded import client_ip
from moontv.web.responses import NO_STORE, json_response, read_json_object

router = APIRouter()


def _session_response(request: Request, state: State, token: str, principal: Principal) -> Response:
    body = {"ok": True, "username": principal.username, "role": principal.role, "token": token}
    response = json_response(body, headers=NO_STORE)
    set_session_cookie(response, request, state, token)
    return response


def _string_field(body: dict, name: str, message: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ServiceError(400, message)
    return value


@router.post("/api/login")
async def login(request: Request, state: State) -> Response:
    body = await read_json_object(request)
    username = _string_field(body, "username", "用户名不能为空", required=False)
    password = _string_field(body, "password", "密码不能为空")
    token, principal = await state.auth.login(username, password or "", client_ip(request, state.settings))
    return _session_response(request, state, token, principal)


@router.post("/api/logout")
async def logout(request: Request, state: State) -> Response:
    body: dict = {}
    if request.headers.get("content-length", "0") not in ("0", ""):
        try:
            body = await read_json_object(request)
        except ServiceError:
            body = {}
    token = request_token(request)
    if body.get("everywhere") is True:
        principal = await state.auth.authenticate(token)
        if principal is not None:
            await state.auth.revoke_sessions(principal.username)
    await state.auth.revoke_token(token)
    response = json_response({"ok": True}, headers=NO_STORE)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


@router.post("/api/register")
async def register(request: Request, state: State) -> Response:
    body = await read_json_object(request)
    username = _string_field(body, "username", "用户名不能为空") or ""
    password = _string_field(body, "password", "密码不能为空") or ""
    token, principal = await state.auth.register(username, password)
    return _session_response(request, state, token, principal)


@router.post("/api/change-password")
async def change_password(request: Request, state: State, user: CurrentUser) -> Response:
    body = await read_json_object(request)
    new_password = body.get("newPassword")
    if not isinstance(new_password, str) or not new_password:
        raise ServiceError(400, "新密码不得为空")
    token = await state.auth.change_password(user, new_password)
    return _session_response(request, state, token, user)


@router.get("/api/server-config")
async def server_config(state: State) -> Response:
    view = await state.config.view()
    return json_response(
        {
            "SiteName": view.site.site_name or state.settings.site_name,
            "StorageType": state.storage.kind,
            "Version": __version__,
        }
    )


@router.post("/api/user/online")
async def user_online(state: State, user: ActiveUser) -> Response:
    now = int(time.time() * 1000)
    await state.storage.set_last_online(user.username, now)
    return json_response({"ok": True, "lastOnline": now})


@router.get("/api/auth/me")
async def whoami(user: CurrentUser) -> Response:
    return json_response(
        {"username": user.username, "role": user.role, "banned": user.banned}, headers=NO_STORE
    )
