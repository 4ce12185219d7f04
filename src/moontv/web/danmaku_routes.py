"""Danmaku API: the browser asks us; our server asks the configured danmu_api server (danmaku/)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BeforeValidator
from starlette.requests import Request
from starlette.responses import Response

from moontv.danmaku.matching import DEFAULT_PLATFORM
from moontv.danmaku.service import DanmakuService, clean_choice
from moontv.errors import ServiceError
from moontv.web.common import split_key
from moontv.web.deps import ActiveUser, State
from moontv.web.params import text
from moontv.web.responses import NO_STORE, json_response, private_cache, read_json_object

router = APIRouter()

MAX_KEYWORD = 100
MAX_TITLE = 200
MAX_INDEX = 100_000


def _service(state: State) -> DanmakuService:
    return state.danmaku


def _text(name: str, limit: int, *, required: bool = True) -> AfterValidator:
    return text(limit, missing=f"缺少参数 {name}" if required else None, too_long=f"参数 {name} 过长")


def _index(value: str) -> int:
    value = value or "0"
    if not value.isdigit() or int(value) > MAX_INDEX:
        raise ValueError("参数 index 无效")
    return int(value)


Anime = Annotated[str, Query(validate_default=True, description="keyword"), _text("anime", MAX_KEYWORD)]
Title = Annotated[str, Query(validate_default=True), _text("title", MAX_TITLE)]
EpisodeTitle = Annotated[str, Query(), _text("episode_title", MAX_TITLE, required=False)]
EpisodeIndex = Annotated[int, Query(validate_default=True, description="0-based"), BeforeValidator(_index)]
Platform = Annotated[str, Query(), _text("platform", 32, required=False)]
ChoiceKey = Annotated[str, Query(validate_default=True, description="source+id"), _text("key", 512)]


@router.get("/api/danmaku/config")
async def danmaku_config(state: State, user: ActiveUser) -> Response:
    return json_response({"enabled": await _service(state).configured()}, headers=NO_STORE)


@router.get("/api/danmaku/search")
async def danmaku_search(state: State, user: ActiveUser, anime: Anime = "") -> Response:
    animes = await _service(state).search(anime)
    return json_response({"animes": animes}, headers=private_cache(300))


@router.get("/api/danmaku/match")
async def danmaku_match(
    state: State,
    user: ActiveUser,
    title: Title = "",
    episode_title: EpisodeTitle = "",
    index: EpisodeIndex = 0,
    platform: Platform = "",
) -> Response:
    result = await _service(state).match(title, episode_title, index, platform or DEFAULT_PLATFORM)
    return json_response(result, headers=NO_STORE)


@router.get("/api/danmaku/comments/{episode_id}")
async def danmaku_comments(episode_id: str, state: State, user: ActiveUser) -> Response:
    if not episode_id.isdigit() or not 0 < int(episode_id) < 2**53:
        raise ServiceError(400, "无效的弹幕 ID")
    body = await _service(state).comments(int(episode_id))
    return Response(body, media_type="application/json", headers=private_cache(600))


@router.get("/api/danmaku/choice")
async def get_danmaku_choice(state: State, user: ActiveUser, key: ChoiceKey = "") -> Response:
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
async def delete_danmaku_choice(state: State, user: ActiveUser, key: ChoiceKey = "") -> Response:
    split_key(key, "无效的key格式")
    await _service(state).delete_choice(user.username, key)
    return json_response({"success": True})
