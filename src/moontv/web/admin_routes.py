"""Admin API (``/api/admin/*``); the ``/admin`` page is in ``web/pages/admin.py``.

401 means "not signed in"; a signed-in user without the right role gets 403. Every write may
carry the config ``version`` it was based on (body field ``version`` or an ``If-Match`` header);
a stale one gets 409 and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from moontv.admin import AdminError, backup, categories, config_file, groups, reset, site, sources
from moontv.admin.services import AdminServices
from moontv.admin.validity import DEFAULT_QUERY
from moontv.admin.view import admin_view
from moontv.auth.service import Principal
from moontv.config.subscription import SubscriptionError, SubscriptionService, subscription_settings
from moontv.sources.models import ApiSite
from moontv.storage.protocol import VersionConflict
from moontv.web.deps import CurrentUser, State, is_https, public_host, set_session_cookie
from moontv.web.responses import NO_STORE, ApiError, json_response, read_json_object

router = APIRouter()

CONFLICT = "配置已被其他管理员修改，请刷新后重试"
FORBIDDEN = "权限不足"
MAX_QUERY = 50


def services(state: Any) -> AdminServices:
    return state.admin  # type: ignore[no-any-return]


def require_admin(user: Principal, message: str = FORBIDDEN) -> None:
    if not user.is_admin:
        raise ApiError(403, message)


def require_owner(user: Principal, message: str) -> None:
    if user.role != "owner":
        raise ApiError(403, message)


def expected_version(request: Request, body: dict[str, Any] | None = None) -> int | None:
    raw: Any = None
    if body is not None and body.get("version") is not None:
        raw = body["version"]
    elif request.headers.get("if-match"):
        raw = request.headers["if-match"].strip().removeprefix("W/").strip('"')
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ApiError(400, "version 参数格式错误")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError(400, "version 参数格式错误") from None
    if value < 0 or str(value) != str(raw).strip():
        raise ApiError(400, "version 参数格式错误")
    return value


def conflict(exc: VersionConflict) -> ApiError:
    return ApiError(409, CONFLICT, version=exc.actual if exc.actual >= 0 else None)


def admin_error(exc: AdminError) -> ApiError:
    return ApiError(exc.status, exc.message)


async def apply_change(
    state: Any, mutate: Callable[[dict[str, Any]], None], version: int | None, **extra: Any
) -> Response:
    try:
        snapshot = await state.config.update(mutate, expected_version=version)
    except VersionConflict as exc:
        raise conflict(exc) from None
    except AdminError as exc:
        raise admin_error(exc) from None
    return json_response({"ok": True, "version": snapshot.version, **extra}, headers=NO_STORE)


# -- read ----------------------------------------------------------------------------------------------


@router.get("/api/admin/config")
async def get_config(state: State, user: CurrentUser) -> Response:
    require_admin(user, "你是管理员吗你就访问？")
    state.config.invalidate()
    snapshot = await state.config.get()
    view = admin_view(snapshot.config, await state.storage.get_last_online())
    return json_response(
        {
            "Role": user.role,
            "Username": user.username,
            "Config": view,
            "version": snapshot.version,
            "StorageType": state.storage.kind,
        },
        headers={**NO_STORE, "ETag": f'"{snapshot.version}"'},
    )


# -- config file, site, sources, categories, groups ------------------------------------------------------


@router.post("/api/admin/config_file")
async def post_config_file(request: Request, state: State, user: CurrentUser) -> Response:
    require_admin(user, "权限不足，只有管理员可以修改配置文件")
    body = await read_json_object(request)
    version = expected_version(request, body)
    if body.get("preview") is True:
        snapshot = await state.config.get()
        try:
            result = config_file.preview(snapshot.config.get("ConfigFile") or "", body.get("configFile"))
        except AdminError as exc:
            return json_response({"valid": False, "error": exc.message}, 400, headers=NO_STORE)
        return json_response({**result, "version": snapshot.version}, headers=NO_STORE)
    try:
        config_file.validate(body.get("configFile"))
    except AdminError as exc:
        raise admin_error(exc) from None
    return await apply_change(
        state,
        lambda c: config_file.apply(c, body.get("configFile")),
        version,
        success=True,
        message="配置文件更新成功",
    )


@router.post("/api/admin/site")
async def post_site(request: Request, state: State, user: CurrentUser) -> Response:
    require_admin(user)
    body = await read_json_object(request)
    version = expected_version(request, body)
    try:
        fields = site.clean(body)
    except AdminError as exc:
        raise admin_error(exc) from None
    return await apply_change(state, lambda c: site.apply(c, fields), version)


@router.post("/api/admin/source")
async def post_source(request: Request, state: State, user: CurrentUser) -> Response:
    require_admin(user)
    body = await read_json_object(request)
    version = expected_version(request, body)
    try:
        sources.check(body)
    except AdminError as exc:
        raise admin_error(exc) from None
    return await apply_change(state, lambda c: sources.apply(c, body), version)


@router.post("/api/admin/category")
async def post_category(request: Request, state: State, user: CurrentUser) -> Response:
    require_admin(user)
    body = await read_json_object(request)
    version = expected_version(request, body)
    return await apply_change(state, lambda c: categories.apply(c, body), version)


@router.post("/api/admin/group")
async def post_group(request: Request, state: State, user: CurrentUser) -> Response:
    require_admin(user)
    body = await read_json_object(request)
    version = expected_version(request, body)
    owner = state.settings.username
    return await apply_change(
        state, lambda c: groups.apply(c, body, owner=owner, operator_role=user.role), version
    )


@router.post("/api/admin/user")
async def post_user(request: Request, state: State, user: CurrentUser) -> Response:
    require_admin(user)
    body = await read_json_object(request)
    version = expected_version(request, body)
    try:
        new_version = await services(state).users.run(user, body, version)
    except VersionConflict as exc:
        raise conflict(exc) from None
    except AdminError as exc:
        raise admin_error(exc) from None
    return json_response({"ok": True, "version": new_version}, headers=NO_STORE)


# -- validity check -----------------------------------------------------------------------------------------


@router.post("/api/admin/source/check")
async def start_check(request: Request, state: State, user: CurrentUser) -> Response:
    require_admin(user)
    body = await read_json_object(request)
    query = body.get("query") or DEFAULT_QUERY
    if not isinstance(query, str) or len(query.strip()) > MAX_QUERY or not query.strip():
        raise ApiError(400, "检测关键词无效")
    snapshot = await state.config.get()
    all_sources = [s for s in snapshot.config["SourceConfig"] if s.get("api")]
    keys = body.get("keys")
    if keys is not None:
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ApiError(400, "keys 必须是字符串列表")
        wanted = set(keys)
        all_sources = [s for s in all_sources if s["key"] in wanted]
    sites = [
        ApiSite(s["key"], s.get("name") or s["key"], s["api"], s.get("detail") or "") for s in all_sources
    ]
    if not sites:
        raise ApiError(400, "没有可检测的视频源")
    job = services(state).validity.start(sites, query.strip())
    return json_response(job.as_json(), 202, headers=NO_STORE)


@router.get("/api/admin/source/check/{job_id}")
async def get_check(job_id: str, state: State, user: CurrentUser) -> Response:
    require_admin(user)
    job = services(state).validity.get(job_id)
    if job is None:
        raise ApiError(404, "检测任务不存在")
    return json_response(job.as_json(), headers=NO_STORE)


# -- subscription -------------------------------------------------------------------------------------------


@router.get("/api/admin/subscription")
async def get_subscription(state: State, user: CurrentUser) -> Response:
    require_admin(user)
    snapshot = await state.config.get()
    return json_response(
        {"subscriptionConfig": subscription_settings(snapshot.config), "version": snapshot.version},
        headers=NO_STORE,
    )


@router.post("/api/admin/subscription")
async def post_subscription(request: Request, state: State, user: CurrentUser) -> Response:
    body = await read_json_object(request)
    action = body.get("action")
    if action not in ("update", "import", "check"):
        raise ApiError(400, "参数格式错误")
    if action != "check":
        require_admin(user)
    version = expected_version(request, body)
    service = services(state).subscription
    try:
        if action == "update":
            current = subscription_settings((await state.config.get()).config)
            settings = SubscriptionService.clean_settings(body, current)

            def mutate(config: dict[str, Any]) -> None:
                config["SubscriptionConfig"] = {**subscription_settings(config), **settings}

            return await apply_change(state, mutate, version, success=True)
        if action == "import":
            url = body.get("subscriptionUrl") or body.get("url")
            mode = body.get("importMode")
            result = await service.import_now(url, mode, expected_version=version)
            snapshot = await state.config.get()
            return json_response(
                {
                    "success": True,
                    "imported": True,
                    "count": result.imported,
                    "mode": result.mode,
                    "version": snapshot.version,
                },
                headers=NO_STORE,
            )
        result_or_none = await service.check()
    except SubscriptionError as exc:
        if action == "check":
            return json_response({"success": False, "updated": False, "error": exc.message}, exc.status)
        raise ApiError(exc.status, exc.message) from None
    except VersionConflict as exc:
        raise conflict(exc) from None
    if result_or_none is None:
        return json_response(
            {"success": True, "updated": False, "reason": "未满足自动更新条件"}, headers=NO_STORE
        )
    return json_response(
        {"success": True, "updated": True, "imported": True, "count": result_or_none.imported},
        headers=NO_STORE,
    )


# -- reset ---------------------------------------------------------------------------------------------------


@router.get("/api/admin/reset")
@router.post("/api/admin/reset")
async def reset_config(request: Request, state: State, user: CurrentUser) -> Response:
    require_owner(user, "仅支持站长重置配置")
    version = expected_version(request)
    try:
        fresh = reset.fresh_config(state.settings, await state.storage.list_users())
    except AdminError as exc:
        raise admin_error(exc) from None

    def mutate(config: dict[str, Any]) -> None:
        config.clear()
        config.update(fresh)

    return await apply_change(state, mutate, version)


# -- TVBox administration ----------------------------------------------------------------------------------


def origin(request: Request, state: Any) -> str:
    scheme = "https" if is_https(request, state.settings) else "http"
    return f"{scheme}://{public_host(request, state.settings)}"


def tvbox_url(request: Request, state: Any, token: str) -> str:
    return f"{origin(request, state)}/api/tvbox/config?token={quote(token, safe='')}"


@router.get("/api/admin/tvbox")
async def get_tvbox(request: Request, state: State, user: CurrentUser) -> Response:
    snapshot = await state.config.get()
    svc = services(state)
    return json_response(
        {
            "enabled": bool(snapshot.config["SiteConfig"].get("TVBoxEnabled")),
            "token": await svc.tvbox.info(user.username),
            "url": None,
            "urlTemplate": tvbox_url(request, state, "<token>"),
            "filters": ["adult", "ads"],
        },
        headers=NO_STORE,
    )


@router.post("/api/admin/tvbox")
async def post_tvbox(request: Request, state: State, user: CurrentUser) -> Response:
    body = await read_json_object(request)
    version = expected_version(request, body)
    action = body.get("action")
    if action is None and isinstance(body.get("enabled"), bool):
        action = "enable" if body["enabled"] else "disable"
    if action not in ("enable", "disable", "rotate", "revoke", "revokeAll"):
        raise ApiError(400, "参数格式错误")
    tokens = services(state).tvbox
    try:
        if action in ("enable", "disable"):
            require_admin(user)

            def toggle(config: dict[str, Any]) -> None:
                config["SiteConfig"]["TVBoxEnabled"] = action == "enable"

            return await apply_change(state, toggle, version, enabled=action == "enable")
        if action == "revokeAll":
            require_admin(user)
            new_version = await tokens.revoke_all(expected_version=version)
            return json_response({"ok": True, "version": new_version}, headers=NO_STORE)
        target = await _tvbox_target(state, user, body.get("username"))
        if action == "rotate":
            token, new_version = await tokens.issue(target, expected_version=version)
            return json_response(
                {
                    "ok": True,
                    "username": target,
                    "token": token,
                    "url": tvbox_url(request, state, token),
                    "version": new_version,
                },
                headers=NO_STORE,
            )
        new_version = await tokens.revoke(target, expected_version=version)
        return json_response({"ok": True, "username": target, "version": new_version}, headers=NO_STORE)
    except VersionConflict as exc:
        raise conflict(exc) from None
    except LookupError:
        raise ApiError(404, "目标用户不存在") from None


async def _tvbox_target(state: Any, user: Principal, requested: Any) -> str:
    if requested in (None, "", user.username):
        if user.banned:
            raise ApiError(403, "用户已被封禁")
        return user.username
    if not isinstance(requested, str):
        raise ApiError(400, "参数格式错误")
    require_admin(user)
    snapshot = await state.config.get()
    entry = next((u for u in snapshot.config["UserConfig"]["Users"] if u.get("username") == requested), None)
    if entry is None:
        raise ApiError(404, "目标用户不存在")
    if entry.get("role") in ("owner", "admin") and user.role != "owner":
        raise ApiError(403, "仅站长可操作管理员")
    return requested


# -- backups -------------------------------------------------------------------------------------------------


@router.post("/api/admin/data_migration/export")
async def export_data(request: Request, state: State, user: CurrentUser) -> Response:
    require_owner(user, "权限不足，只有站长可以导出数据")
    body = await read_json_object(request)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise ApiError(400, "请提供加密密码")
    try:
        blob = await backup.export_backup(state.storage, state.settings, password)
    except AdminError as exc:
        raise admin_error(exc) from None
    name = f"moontv-backup-{datetime.now().strftime('%Y%m%d-%H%M%S')}.dat"
    return Response(
        blob,
        media_type="application/octet-stream",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/api/admin/data_migration/import")
async def import_data(request: Request, state: State, user: CurrentUser) -> Response:
    require_owner(user, "权限不足，只有站长可以导入数据")
    limit = state.settings.backup_max_bytes
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit + 64 * 1024):
        raise ApiError(413, "备份文件过大")
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(400, "请选择备份文件")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception:
        raise ApiError(400, "请求格式错误") from None
    try:
        upload = form.get("file")
        password = form.get("password")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "请选择备份文件")
        if not isinstance(password, str) or not password:
            raise ApiError(400, "请提供解密密码")
        blob = await upload.read(limit + 1)
        if len(blob) > limit:
            raise ApiError(413, "备份文件过大")
    finally:
        await form.close()
    try:
        snapshot = await _read_backup(blob, password, state.settings)
        count = await backup.restore(state.storage, state.settings, snapshot)
    except AdminError as exc:
        raise admin_error(exc) from None
    state.config.invalidate()
    for cache in (getattr(state, "search_cache", None),):
        if cache is not None:
            cache.clear()
    # Every pre-import session is revoked; the owner doing the import gets a fresh one.
    token = await state.auth.issue(user.username)
    response = json_response(
        {
            "message": "数据导入成功",
            "importedUsers": count,
            "timestamp": snapshot.timestamp,
            "serverVersion": snapshot.server_version,
            "format": snapshot.source_format,
        },
        headers=NO_STORE,
    )
    set_session_cookie(response, request, state, token)
    return response


async def _read_backup(blob: bytes, password: str, settings: Any) -> backup.Snapshot:
    return await asyncio.to_thread(backup.read_backup, blob, password, settings)
