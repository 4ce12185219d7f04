"""Admin API, site configuration: config, config file, site, sources, categories, groups, users, checks.

401 means "not signed in"; a signed-in user without the right role gets 403 (declared on each route).
Every write may carry the config ``version`` it was based on (body field ``version`` or an ``If-Match``
header); a stale one gets 409 and changes nothing. Unknown body fields are a 400.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from moontv.admin import categories, config_file, groups, site, sources
from moontv.admin.validity import DEFAULT_QUERY
from moontv.admin.view import admin_view
from moontv.auth.service import Principal
from moontv.errors import ServiceError
from moontv.web.admin_requests import (
    CategoryRequest,
    ConfigFileRequest,
    GroupRequest,
    SiteRequest,
    SourceCheckRequest,
    SourceRequest,
    UserRequest,
    only_known_fields,
)
from moontv.web.common import apply_change, expected_version
from moontv.web.deps import AdminUser, State, admin_only
from moontv.web.responses import NO_STORE, json_response, read_json_object

router = APIRouter()

MAX_QUERY = 50


@router.get("/api/admin/config")
async def get_config(
    state: State, user: Annotated[Principal, Depends(admin_only("你是管理员吗你就访问？"))]
) -> Response:
    state.config.invalidate()
    snapshot = await state.config.get()
    tokens = state.tvbox
    tvbox = {name: await tokens.info(name) for name in snapshot.view.usernames()}
    shown = admin_view(snapshot.view, await state.storage.get_last_online(), tvbox)
    return json_response(
        {
            "Role": user.role,
            "Username": user.username,
            "Config": shown,
            "version": snapshot.version,
            "StorageType": state.storage.kind,
        },
        headers={**NO_STORE, "ETag": f'"{snapshot.version}"'},
    )


@router.post("/api/admin/config_file")
async def post_config_file(
    request: Request,
    state: State,
    user: Annotated[Principal, Depends(admin_only("权限不足，只有管理员可以修改配置文件"))],
) -> Response:
    body = only_known_fields(ConfigFileRequest, await read_json_object(request))
    version = expected_version(request, body)
    if body.get("preview") is True:
        snapshot = await state.config.get()
        try:
            result = config_file.preview(snapshot.view.config_file, body.get("configFile"))
        except ServiceError as exc:  # the preview answers its own shape
            return json_response({"valid": False, "error": exc.message}, 400, headers=NO_STORE)
        return json_response({**result, "version": snapshot.version}, headers=NO_STORE)
    config_file.validate(body.get("configFile"))
    return await apply_change(
        state,
        lambda c: config_file.apply(c, body.get("configFile")),
        version,
        success=True,
        message="配置文件更新成功",
    )


@router.post("/api/admin/site")
async def post_site(request: Request, state: State, user: AdminUser) -> Response:
    body = only_known_fields(SiteRequest, await read_json_object(request))
    version = expected_version(request, body)
    fields = site.clean(body)
    return await apply_change(state, lambda c: site.apply(c, fields), version)


@router.post("/api/admin/source")
async def post_source(request: Request, state: State, user: AdminUser) -> Response:
    body = only_known_fields(SourceRequest, await read_json_object(request))
    version = expected_version(request, body)
    sources.check(body)
    return await apply_change(state, lambda c: sources.apply(c, body), version)


@router.post("/api/admin/category")
async def post_category(request: Request, state: State, user: AdminUser) -> Response:
    body = only_known_fields(CategoryRequest, await read_json_object(request))
    version = expected_version(request, body)
    return await apply_change(state, lambda c: categories.apply(c, body), version)


@router.post("/api/admin/group")
async def post_group(request: Request, state: State, user: AdminUser) -> Response:
    body = only_known_fields(GroupRequest, await read_json_object(request))
    version = expected_version(request, body)
    owner = state.settings.username
    return await apply_change(
        state, lambda c: groups.apply(c, body, owner=owner, operator_role=user.role), version
    )


@router.post("/api/admin/user")
async def post_user(request: Request, state: State, user: AdminUser) -> Response:
    body = only_known_fields(UserRequest, await read_json_object(request))
    version = expected_version(request, body)
    new_version = await state.users.run(user, body, version)
    return json_response({"ok": True, "version": new_version}, headers=NO_STORE)


@router.post("/api/admin/source/check")
async def start_check(request: Request, state: State, user: AdminUser) -> Response:
    body = only_known_fields(SourceCheckRequest, await read_json_object(request))
    query = body.get("query") or DEFAULT_QUERY
    if not isinstance(query, str) or len(query.strip()) > MAX_QUERY:
        raise ServiceError(400, "检测关键词无效")
    all_sources = [s for s in (await state.config.view()).sources if s.api]
    keys = body.get("keys")
    if keys is not None:
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ServiceError(400, "keys 必须是字符串列表")
        wanted = set(keys)
        all_sources = [s for s in all_sources if s.key in wanted]
    sites = [s.site for s in all_sources]
    if not sites:
        raise ServiceError(400, "没有可检测的视频源")
    job = state.validity.start(sites, query.strip())
    return json_response(job.as_json(), 202, headers=NO_STORE)


@router.get("/api/admin/source/check/{job_id}")
async def get_check(job_id: str, state: State, user: AdminUser) -> Response:
    job = state.validity.get(job_id)
    if job is None:
        raise ServiceError(404, "检测任务不存在")
    return json_response(job.as_json(), headers=NO_STORE)
