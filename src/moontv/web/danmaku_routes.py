"""Danmaku API: the browser asks us; our server asks the configured danmu_api server (danmaku/)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.danmaku.matching import DEFAULT_PLATFORM
from moontv.danmaku.service import DanmakuService, clean_choice
from moontv.errors import ServiceError
from moontv.web.common import split_key
from moontv.web.deps import ActiveUser, State
from moontv.web.responses import NO_STORE, json_response, private_cache, read_json_object

router = APIRouter()

MAX_KEYWORD = 100
MAX_TITLE = 200
MAX_INDEX = 100_000


def _service(state: State) -> DanmakuService:
    return state.danmaku


def _query_text(request: Request, name: str, limit: int, *, required: bool = True) -> str:
    value = (request.query_params.get(name) or "").strip()
    if required and not value:
        raise ServiceError(400, f"缺少参数 {name}")
    if len(value) > limit:
        raise ServiceError(400, f"参数 {name} 过长")
    return value


@router.get("/api/danmaku/config")
async def danmaku_config(state: State, user: ActiveUser) -> Response:
    return json_response({"enabled": await _service(state).configured()}, headers=NO_STORE)


@router.get("/api/danmaku/search")
async def danmaku_search(request: Request, state: State, user: ActiveUser) -> Response:
    keyword = _query_text(request, "anime", MAX_KEYWORD)
    animes = await _service(state).search(keyword)
    return json_response({"animes": animes}, headers=private_cache(300))


@router.get("/api/danmaku/match")
async def danmaku_match(request: Request, state: State, user: ActiveUser) -> Response:
    title = _query_text(request, "title", MAX_TITLE)
    episode_title = _query_text(request, "episode_title", MAX_TITLE, required=False)
    index_text = request.query_params.get("index") or "0"
    if not index_text.isdigit() or int(index_text) > MAX_INDEX:
        raise ServiceError(400, "参数 index 无效")
    platform = _query_text(request, "platform", 32, required=False) or DEFAULT_PLATFORM
    result = await _service(state).match(title, episode_title, int(index_text), platform)
    return json_response(result, headers=NO_STORE)


@router.get("/api/danmaku/comments/{episode_id}")
async def danmaku_comments(episode_id: str, state: State, user: ActiveUser) -> Response:
    if not episode_id.isdigit() or not 0 < int(episode_id) < 2**53:
        raise ServiceError(400, "无效的弹幕 ID")
    body = await _service(state).comments(int(episode_id))
    return Response(body, media_type="application/json", headers=private_cache(600))


@router.get("/api/danmaku/choice")
async def get_danmaku_choice(request: Request, state: State, user: ActiveUser) -> Response:
    key = _query_text(request, "key", 512)
    split_key(key, "无效的key格式")
    return json_response({"choice": await _service(state).get_choice(user.username, key)}, headers=NO_STORE)


@router.post("/api/danmaku/choice")
async def save_danmaku_choice(request: Request, state: State, user: ActiveUser) -> Response:
    body = await read_json_object(request)
    key = body.get("key")
    split_key(key, "无效的key格式")
    choice = clean_choice(body.get("choice"))
    if choice is None:
        raise ServiceError(400, "无效的弹幕选择")
    await _service(state).set_choice(user.username, str(key), choice)
    return json_response({"success": True})


@router.delete("/api/danmaku/choice")
async def delete_danmaku_choice(request: Request, state: State, user: ActiveUser) -> Response:
    key = _query_text(request, "key", 512)
    split_key(key, "无效的key格式")
    await _service(state).delete_choice(user.username, key)
    return json_response({"success": True})
