"""Admin API, site data: config subscription, reset, TVBox tokens, backups (export/import).

Roles are declared on each route (owner/admin); unknown body fields are a 400.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from moontv.admin import backup, reset
from moontv.auth.service import Principal
from moontv.config import document
from moontv.config.subscription import SubscriptionError, SubscriptionService
from moontv.errors import ServiceError
from moontv.web.admin_requests import (
    ExportRequest,
    SubscriptionRequest,
    TvboxRequest,
    only_known_fields,
)
from moontv.web.common import apply_change, expected_version, set_session_cookie
from moontv.web.deps import AdminUser, State, owner_only
from moontv.web.responses import NO_STORE, json_response, read_json_object
from moontv.web.tvbox_access import token_status, tvbox_url

router = APIRouter()


# -- subscription -------------------------------------------------------------------------------------------


@router.get("/api/admin/subscription")
async def get_subscription(state: State, user: AdminUser) -> Response:
    snapshot = await state.config.get()
    return json_response(
        {"subscriptionConfig": snapshot.view.subscription.document(), "version": snapshot.version},
        headers=NO_STORE,
    )


@router.post("/api/admin/subscription")
async def post_subscription(request: Request, state: State, user: AdminUser) -> Response:
    body = only_known_fields(SubscriptionRequest, await read_json_object(request))
    action = body.get("action")
    if action not in ("update", "import", "check"):
        raise ServiceError(400, "参数格式错误")
    version = expected_version(request, body)
    if action == "update":
        current = (await state.config.view()).subscription.document()
        settings = SubscriptionService.clean_settings(body, current)

        def mutate(config: dict[str, Any]) -> None:
            document.set_subscription(config, {**document.subscription(config), **settings})

        return await apply_change(state, mutate, version, success=True)
    if action == "import":
        url = body.get("subscriptionUrl") or body.get("url")
        result = await state.subscription.import_now(url, body.get("importMode"), expected_version=version)
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
    try:
        checked = await state.subscription.check()
    except SubscriptionError as exc:  # a check answers its own shape
        return json_response({"success": False, "updated": False, "error": exc.message}, exc.status)
    if checked is None:
        return json_response(
            {"success": True, "updated": False, "reason": "未满足自动更新条件"}, headers=NO_STORE
        )
    return json_response(
        {"success": True, "updated": True, "imported": True, "count": checked.imported}, headers=NO_STORE
    )


# -- reset ---------------------------------------------------------------------------------------------------


@router.post("/api/admin/reset")
async def reset_config(
    request: Request, state: State, user: Annotated[Principal, Depends(owner_only("仅支持站长重置配置"))]
) -> Response:
    version = expected_version(request)
    fresh = reset.fresh_config(state.settings, await state.storage.list_users())

    def mutate(config: dict[str, Any]) -> None:
        config.clear()
        config.update(fresh)

    return await apply_change(state, mutate, version)


# -- TVBox administration ----------------------------------------------------------------------------------


@router.get("/api/admin/tvbox")
async def get_tvbox(request: Request, state: State, user: AdminUser) -> Response:
    return json_response(await token_status(request, state, user.username), headers=NO_STORE)


@router.post("/api/admin/tvbox")
async def post_tvbox(request: Request, state: State, user: AdminUser) -> Response:
    body = only_known_fields(TvboxRequest, await read_json_object(request))
    version = expected_version(request, body)
    action = body.get("action")
    if action is None and isinstance(body.get("enabled"), bool):
        action = "enable" if body["enabled"] else "disable"
    if action not in ("enable", "disable", "rotate", "revoke", "revokeAll"):
        raise ServiceError(400, "参数格式错误")
    if action in ("enable", "disable"):

        def toggle(config: dict[str, Any]) -> None:
            document.site(config)["TVBoxEnabled"] = action == "enable"

        return await apply_change(state, toggle, version, enabled=action == "enable")
    if action == "revokeAll":
        new_version = await state.tvbox.revoke_all(expected_version=version)
        return json_response({"ok": True, "version": new_version}, headers=NO_STORE)
    target = await _tvbox_target(state, user, body.get("username"))
    try:
        if action == "rotate":
            token, new_version = await state.tvbox.issue(target, expected_version=version)
            return json_response(
                {
                    "ok": True,
                    "username": target,
                    "token": token,
                    "url": tvbox_url(request, state.settings, token),
                    "version": new_version,
                },
                headers=NO_STORE,
            )
        new_version = await state.tvbox.revoke(target, expected_version=version)
    except LookupError:
        raise ServiceError(404, "目标用户不存在") from None
    return json_response({"ok": True, "username": target, "version": new_version}, headers=NO_STORE)


async def _tvbox_target(state: State, user: Principal, requested: Any) -> str:
    if requested in (None, "", user.username):
        return user.username
    if not isinstance(requested, str):
        raise ServiceError(400, "参数格式错误")
    entry = (await state.config.view()).user(requested)
    if entry is None:
        raise ServiceError(404, "目标用户不存在")
    if entry.role in ("owner", "admin") and user.role != "owner":
        raise ServiceError(403, "仅站长可操作管理员")
    return requested


# -- backups -------------------------------------------------------------------------------------------------


@router.post("/api/admin/data_migration/export")
async def export_data(
    request: Request,
    state: State,
    user: Annotated[Principal, Depends(owner_only("权限不足，只有站长可以导出数据"))],
) -> Response:
    body = only_known_fields(ExportRequest, await read_json_object(request))
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise ServiceError(400, "请提供加密密码")
    blob = await backup.export_backup(state.storage, state.settings, password)
    name = f"moontv-backup-{datetime.now().strftime('%Y%m%d-%H%M%S')}.dat"
    return Response(
        blob,
        media_type="application/octet-stream",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/api/admin/data_migration/import")
async def import_data(
    request: Request,
    state: State,
    user: Annotated[Principal, Depends(owner_only("权限不足，只有站长可以导入数据"))],
) -> Response:
    limit = state.settings.backup_max_bytes
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit + 64 * 1024):
        raise ServiceError(413, "备份文件过大")
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ServiceError(400, "请选择备份文件")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception:
        raise ServiceError(400, "请求格式错误") from None
    try:
        upload = form.get("file")
        password = form.get("password")
        if not isinstance(upload, UploadFile):
            raise ServiceError(400, "请选择备份文件")
        if not isinstance(password, str) or not password:
            raise ServiceError(400, "请提供解密密码")
        blob = await upload.read(limit + 1)
        if len(blob) > limit:
            raise ServiceError(413, "备份文件过大")
    finally:
        await form.close()
    snapshot = await asyncio.to_thread(backup.read_backup, blob, password, state.settings)
    count = await backup.restore(state.storage, state.settings, snapshot)
    state.config.invalidate()
    state.search_cache.clear()
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
