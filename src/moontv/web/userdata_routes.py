"""Per-user data: play records, favorites, search history, skip-intro configs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, Field, WrapValidator, model_validator
from starlette.requests import Request
from starlette.responses import Response

from moontv.errors import ServiceError
from moontv.storage.protocol import SEARCH_HISTORY_LIMIT
from moontv.storage.quota import QuotaExceeded, Quotas, check_room
from moontv.userdata.favorites import save_favorite as save_one_favorite_per_title
from moontv.userdata.models import Favorite, PlayRecord, SkipConfig, record_key
from moontv.web.bodies import documented_body, failing_with, json_body
from moontv.web.common import split_key
from moontv.web.deps import ActiveUser, State
from moontv.web.responses import NO_STORE, json_response, read_json_object
from moontv.web.state import AppState

router = APIRouter()

MAX_KEYWORD = 100


def _present(data: Any, fields: tuple[str, str], message: str) -> Any:
    """Every named field present and truthy, else ``message`` (checked before the fields themselves)."""
    if not isinstance(data, dict) or not all(data.get(name) for name in fields):
        raise ValueError(message)
    return data


def _key(message: str) -> BeforeValidator:
    def check(value: Any) -> str:
        try:
            return record_key(value)
        except ValueError:
            raise ValueError(message) from None

    return BeforeValidator(check, json_schema_input_type=str)


# Field order is the order the checks answer in: the entry first, then its key (MoonTV's order).
class PlayRecordBody(BaseModel):
    record: Annotated[PlayRecord, WrapValidator(failing_with("Invalid record data"))]
    key: Annotated[str, _key("Invalid key format"), Field(description='"{source}+{id}"')]

    @model_validator(mode="before")
    @classmethod
    def present(cls, data: Any) -> Any:
        return _present(data, ("key", "record"), "Missing key or record")


class FavoriteBody(BaseModel):
    favorite: Annotated[Favorite, WrapValidator(failing_with("Invalid favorite data"))]
    key: Annotated[str, _key("Invalid key format"), Field(description='"{source}+{id}"')]

    @model_validator(mode="before")
    @classmethod
    def present(cls, data: Any) -> Any:
        return _present(data, ("key", "favorite"), "Missing key or favorite")


class SkipConfigBody(BaseModel):
    key: Annotated[str, _key("无效的key格式"), Field(description='"{source}+{id}"')]
    config: Annotated[SkipConfig, WrapValidator(failing_with("缺少必要参数"))]

    @model_validator(mode="before")
    @classmethod
    def present(cls, data: Any) -> Any:
        return _present(data, ("key", "config"), "缺少必要参数")


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


@router.get("/api/playrecords", responses={200: {"model": dict[str, PlayRecord]}})
async def get_play_records(state: State, user: ActiveUser) -> Response:
    return json_response(await state.storage.get_all_play_records(user.username), headers=NO_STORE)


@router.post("/api/playrecords", openapi_extra=documented_body(PlayRecordBody))
async def save_play_record(
    state: State, user: ActiveUser, body: Annotated[PlayRecordBody, Depends(json_body(PlayRecordBody))]
) -> Response:
    await _room_for(state, user.username, "pr", body.key)
    await state.storage.set_play_record(user.username, body.key, body.record.stored())
    return json_response({"success": True})


@router.delete("/api/playrecords")
async def delete_play_records(state: State, user: ActiveUser, key: RecordKey = None) -> Response:
    storage, name = state.storage, user.username
    return await _delete_one_or_all(
        key,
        lambda key: storage.delete_play_record(name, key),
        lambda: storage.delete_all_play_records(name),
    )


@router.get("/api/favorites", responses={200: {"model": dict[str, Favorite] | Favorite | None}})
async def get_favorites(state: State, user: ActiveUser, key: RecordKey = None) -> Response:
    if key:
        split_key(key)
        return json_response(await state.storage.get_favorite(user.username, key), headers=NO_STORE)
    return json_response(await state.storage.get_all_favorites(user.username), headers=NO_STORE)


@router.post("/api/favorites", openapi_extra=documented_body(FavoriteBody))
async def save_favorite(
    state: State, user: ActiveUser, body: Annotated[FavoriteBody, Depends(json_body(FavoriteBody))]
) -> Response:
    await _room_for(state, user.username, "fav", body.key)
    await save_one_favorite_per_title(state.storage, user.username, body.key, body.favorite)
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


@router.get("/api/skipconfigs", responses={200: {"model": dict[str, SkipConfig] | SkipConfig | None}})
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


@router.post("/api/skipconfigs", openapi_extra=documented_body(SkipConfigBody))
async def save_skip_config(
    state: State, user: ActiveUser, body: Annotated[SkipConfigBody, Depends(json_body(SkipConfigBody))]
) -> Response:
    await _room_for(state, user.username, "skip", body.key)
    await state.storage.set_skip_config(user.username, body.key, body.config.stored())
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
