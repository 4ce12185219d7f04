"""Per-user data: play records, favorites, search history, skip-intro configs."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from moontv.errors import ServiceError
from moontv.storage.protocol import SEARCH_HISTORY_LIMIT
from moontv.storage.quota import QuotaExceeded, Quotas, check_room
from moontv.userdata.favorites import save_favorite as save_one_favorite_per_title
from moontv.web.common import split_key
from moontv.web.deps import ActiveUser, State
from moontv.web.responses import NO_STORE, json_response, read_json_object
from moontv.web.state import AppState

router = APIRouter()

MAX_TEXT = 1000
MAX_KEYWORD = 100


def _text(value: Any, *, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("not text")
    return str(value)[:limit]


def _int(value: Any, *, minimum: int = 0, default: int = 0) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return max(minimum, int(number))


def _now_ms() -> int:
    return int(time.time() * 1000)


def clean_play_record(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ServiceError(400, "Invalid record data")
    try:
        clean: dict[str, Any] = {
            "title": _text(record.get("title")).strip(),
            "source_name": _text(record.get("source_name")).strip(),
            "cover": _text(record.get("cover"), limit=2048),
            "year": _text(record.get("year"), limit=16),
            "index": _int(record.get("index"), minimum=-(10**9)),
            "total_episodes": _int(record.get("total_episodes")),
            "play_time": _int(record.get("play_time")),
            "total_time": _int(record.get("total_time")),
            "save_time": _int(record.get("save_time"), default=_now_ms()),
            "search_title": _text(record.get("search_title")),
        }
    except (ValueError, TypeError, OverflowError):
        raise ServiceError(400, "Invalid record data") from None
    if not clean["title"] or not clean["source_name"] or clean["index"] < 1:
        raise ServiceError(400, "Invalid record data")
    return clean


FAVORITE_ORIGINS = ("vod", "live")


def clean_favorite(favorite: Any) -> dict[str, Any]:
    if not isinstance(favorite, dict):
        raise ServiceError(400, "Invalid favorite data")
    try:
        clean: dict[str, Any] = {
            "source_name": _text(favorite.get("source_name")).strip(),
            "total_episodes": _int(favorite.get("total_episodes")),
            "title": _text(favorite.get("title")).strip(),
            "year": _text(favorite.get("year"), limit=16),
            "cover": _text(favorite.get("cover"), limit=2048),
            "save_time": _int(favorite.get("save_time"), default=_now_ms()),
            "search_title": _text(favorite.get("search_title")),
        }
    except (ValueError, TypeError, OverflowError):
        raise ServiceError(400, "Invalid favorite data") from None
    if not clean["title"] or not clean["source_name"]:
        raise ServiceError(400, "Invalid favorite data")
    if favorite.get("origin") in FAVORITE_ORIGINS:  # Selene tells live channels from videos by it
        clean["origin"] = favorite["origin"]
    return clean


def _number_or_zero(value: Any) -> float:
    """JavaScript's ``Number(x) || 0`` for the values a client can send."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        number = float(value) if isinstance(value, int | float | str) and value != "" else 0.0
    except ValueError:
        return 0.0
    if not math.isfinite(number):
        return 0.0
    return int(number) if number.is_integer() else number


def clean_skip_config(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ServiceError(400, "缺少必要参数")
    return {
        "enable": bool(config.get("enable")),
        "intro_time": _number_or_zero(config.get("intro_time")),
        "outro_time": _number_or_zero(config.get("outro_time")),
    }


# -- play records and favorites (same shape: a map keyed "source+id") ------------------------


async def _keyed_payload(request: Request, field: str, missing: str) -> tuple[str, Any]:
    body = await read_json_object(request)
    key, value = body.get("key"), body.get(field)
    if not key or not value:
        raise ServiceError(400, missing)
    return key, value


RecordKey = Annotated[str | None, Query(description='"{source}+{id}"; without it: every entry')]


async def _delete_one_or_all(
    key: str | None, delete_one: Callable[[str], Awaitable[None]], delete_all: Callable[[], Awaitable[None]]
) -> Response:
    if key:
        split_key(key)
        await delete_one(key)
    else:
        await delete_all()
    return json_response({"success": True})


async def _room_for(state: AppState, user: str, kind: str, key: str) -> None:
    """409 with the limit when ``key`` is a new entry and the user's list is full (settings)."""
    settings = state.settings
    quotas = Quotas(settings.max_play_records, settings.max_favorites, settings.max_skip_configs)
    try:
        await check_room(state.storage, quotas, user, kind, key)
    except QuotaExceeded as exc:
        raise ServiceError(409, str(exc), limit=exc.limit) from None


@router.get("/api/playrecords")
async def get_play_records(state: State, user: ActiveUser) -> Response:
    return json_response(await state.storage.get_all_play_records(user.username), headers=NO_STORE)


@router.post("/api/playrecords")
async def save_play_record(request: Request, state: State, user: ActiveUser) -> Response:
    key, record = await _keyed_payload(request, "record", "Missing key or record")
    clean = clean_play_record(record)
    split_key(key)
    await _room_for(state, user.username, "pr", key)
    await state.storage.set_play_record(user.username, key, clean)
    return json_response({"success": True})


@router.delete("/api/playrecords")
async def delete_play_records(state: State, user: ActiveUser, key: RecordKey = None) -> Response:
    storage, name = state.storage, user.username
    return await _delete_one_or_all(
        key,
        lambda key: storage.delete_play_record(name, key),
        lambda: storage.delete_all_play_records(name),
    )


@router.get("/api/favorites")
async def get_favorites(state: State, user: ActiveUser, key: RecordKey = None) -> Response:
    if key:
        split_key(key)
        return json_response(await state.storage.get_favorite(user.username, key), headers=NO_STORE)
    return json_response(await state.storage.get_all_favorites(user.username), headers=NO_STORE)


@router.post("/api/favorites")
async def save_favorite(request: Request, state: State, user: ActiveUser) -> Response:
    key, favorite = await _keyed_payload(request, "favorite", "Missing key or favorite")
    clean = clean_favorite(favorite)
    split_key(key)
    await _room_for(state, user.username, "fav", key)
    await save_one_favorite_per_title(state.storage, user.username, key, clean)
    return json_response({"success": True})


@router.delete("/api/favorites")
async def delete_favorites(state: State, user: ActiveUser, key: RecordKey = None) -> Response:
    storage, name = state.storage, user.username
    return await _delete_one_or_all(
        key, lambda key: storage.delete_favorite(name, key), lambda: storage.delete_all_favorites(name)
    )


# -- search history ---------------------------------------------------------------------------


@router.get("/api/searchhistory")
async def get_search_history(state: State, user: ActiveUser) -> Response:
    history = await state.storage.get_search_history(user.username)
    return json_response(history[:SEARCH_HISTORY_LIMIT], headers=NO_STORE)


@router.post("/api/searchhistory")
async def add_search_history(request: Request, state: State, user: ActiveUser) -> Response:
    body = await read_json_object(request)
    keyword = body.get("keyword")
    keyword = keyword.strip() if isinstance(keyword, str) else ""
    if not keyword:
        raise ServiceError(400, "Keyword is required")
    if len(keyword) > MAX_KEYWORD:
        raise ServiceError(400, f"Keyword is too long (max {MAX_KEYWORD} characters)")
    await state.storage.add_search_history(user.username, keyword)
    history = await state.storage.get_search_history(user.username)
    return json_response(history[:SEARCH_HISTORY_LIMIT])


@router.delete("/api/searchhistory")
async def delete_search_history(
    state: State,
    user: ActiveUser,
    keyword: Annotated[str | None, Query(description="without it: the whole history")] = None,
) -> Response:
    await state.storage.delete_search_history(user.username, keyword.strip() if keyword else None)
    return json_response({"success": True})


# -- skip configs -----------------------------------------------------------------------------


@router.get("/api/skipconfigs")
async def get_skip_configs(
    state: State,
    user: ActiveUser,
    source: Annotated[str | None, Query()] = None,
    vod_id: Annotated[str | None, Query(alias="id", description="with source: one entry")] = None,
) -> Response:
    if source and vod_id:
        return json_response(
            await state.storage.get_skip_config(user.username, f"{source}+{vod_id}"), headers=NO_STORE
        )
    return json_response(await state.storage.get_all_skip_configs(user.username), headers=NO_STORE)


@router.post("/api/skipconfigs")
async def save_skip_config(request: Request, state: State, user: ActiveUser) -> Response:
    body = await read_json_object(request)
    key, config = body.get("key"), body.get("config")
    if not key or not config:
        raise ServiceError(400, "缺少必要参数")
    split_key(key, "无效的key格式")
    await _room_for(state, user.username, "skip", key)
    await state.storage.set_skip_config(user.username, key, clean_skip_config(config))
    return json_response({"success": True})


@router.delete("/api/skipconfigs")
async def delete_skip_config(
    state: State, user: ActiveUser, key: Annotated[str | None, Query(description='"{source}+{id}"')] = None
) -> Response:
    if not key:
        raise ServiceError(400, "缺少必要参数")
    split_key(key, "无效的key格式")
    await state.storage.delete_skip_config(user.username, key)
    return json_response({"success": True})
