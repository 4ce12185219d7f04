"""Danmaku service: search, automatic match, comment tracks (cached per episode) and remembered choices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from moontv.danmaku.cache import ByteLRU
from moontv.danmaku.client import DanmuApiClient, DanmuApiError
from moontv.danmaku.comments import CommentFormatError, parse_comments
from moontv.danmaku.matching import build_query
from moontv.errors import ServiceError
from moontv.storage.protocol import Storage

MAX_ANIMES = 50
MAX_EPISODES = 3000
MAX_TITLE = 200
MAX_ID = 2**53


class DanmakuUnavailable(ServiceError):
    """No danmu server is configured (the admin's 弹幕接口地址 / NEXT_PUBLIC_DANMU_API_BASE_URL)."""

    def __init__(self) -> None:
        super().__init__(404, "未配置弹幕接口")


@dataclass(frozen=True)
class Limits:
    max_body: int = 8 * 1024 * 1024
    max_comments: int = 20_000
    cache_bytes: int = 32 * 1024 * 1024
    cache_ttl: float = 1800.0


def _id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and 0 < value < MAX_ID else None


def _text(value: Any) -> str:
    return (
        str(value)[:MAX_TITLE] if isinstance(value, str | int | float) and not isinstance(value, bool) else ""
    )


def clean_anime(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict) or _id(item.get("animeId")) is None:
        return None
    episodes = []
    raw = item.get("episodes")
    for episode in raw[:MAX_EPISODES] if isinstance(raw, list) else []:
        if isinstance(episode, dict) and _id(episode.get("episodeId")) is not None:
            episodes.append(
                {"episodeId": _id(episode["episodeId"]), "episodeTitle": _text(episode.get("episodeTitle"))}
            )
    return {
        "animeId": _id(item["animeId"]),
        "animeTitle": _text(item.get("animeTitle")),
        "type": _text(item.get("type")),
        "typeDescription": _text(item.get("typeDescription")),
        "episodes": episodes,
    }


def clean_match(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict) or _id(item.get("episodeId")) is None:
        return None
    return {
        "episodeId": _id(item["episodeId"]),
        "animeId": _id(item.get("animeId")),
        "animeTitle": _text(item.get("animeTitle")),
        "episodeTitle": _text(item.get("episodeTitle")),
        "type": _text(item.get("type")),
        "typeDescription": _text(item.get("typeDescription")),
    }


class DanmakuService:
    def __init__(
        self,
        client: DanmuApiClient,
        base_url: Callable[[], Awaitable[str]],
        storage: Storage,
        limits: Limits | None = None,
    ) -> None:
        self.client = client
        self.base_url = base_url
        self.storage = storage
        self.limits = limits or Limits()
        self.tracks = ByteLRU(self.limits.cache_bytes, self.limits.cache_ttl)

    async def _base(self) -> str:
        base = (await self.base_url()).strip()
        if not base:
            raise DanmakuUnavailable()
        return base

    async def aclose(self) -> None:
        await self.client.http.aclose()

    async def configured(self) -> bool:
        return bool((await self.base_url()).strip())

    async def search(self, keyword: str) -> list[dict[str, Any]]:
        base = await self._base()
        data = await self.client.request_json(
            base, "GET", "/api/v2/search/episodes", params={"anime": keyword}
        )
        animes = data.get("animes")
        cleaned = (clean_anime(a) for a in (animes[:MAX_ANIMES] if isinstance(animes, list) else []))
        return [a for a in cleaned if a is not None]

    async def match(self, title: str, episode_title: str, index: int, platform: str) -> dict[str, Any]:
        """``{"fileName", "match"}``; ``match`` is None when the server found nothing."""
        base = await self._base()
        query = build_query(title, episode_title, index, platform)
        data = await self.client.request_json(
            base, "POST", "/api/v2/match", body={"fileName": query.file_name}
        )
        matches = data.get("matches")
        first = clean_match(matches[0]) if isinstance(matches, list) and matches else None
        return {"fileName": query.file_name, "match": first}

    async def comments(self, episode_id: int) -> bytes:
        """The episode's track as JSON ``{"episodeId", "count", "comments": [[t, mode, color, text]…]}``."""
        base = await self._base()

        async def load() -> bytes:
            raw = await self.client.request(
                base, "GET", f"/api/v2/comment/{episode_id}", params={"format": "xml"}
            )
            try:
                rows = parse_comments(raw, self.limits.max_comments)
            except CommentFormatError as exc:
                raise DanmuApiError(502, f"弹幕数据格式无法识别：{exc}") from None
            return orjson.dumps({"episodeId": episode_id, "count": len(rows), "comments": rows})

        return await self.tracks.load((base, episode_id), load)

    # -- a user's manual pick, per "{source}+{id}" -----------------------------------------------------
    async def get_choice(self, user: str, key: str) -> dict[str, Any] | None:
        return await self.storage.get_danmaku_choice(user, key)

    async def set_choice(self, user: str, key: str, choice: dict[str, Any]) -> None:
        await self.storage.set_danmaku_choice(user, key, choice)

    async def delete_choice(self, user: str, key: str) -> None:
        await self.storage.delete_danmaku_choice(user, key)


def clean_choice(value: Any) -> dict[str, Any] | None:
    """A stored pick: the anime, the search keyword that found it and the episode offset
    (anime episode position minus our episode index)."""
    if not isinstance(value, dict):
        return None
    anime_id = _id(value.get("animeId"))
    offset = value.get("offset", 0)
    if (
        anime_id is None
        or isinstance(offset, bool)
        or not isinstance(offset, int)
        or abs(offset) > MAX_EPISODES
    ):
        return None
    keyword = _text(value.get("keyword")).strip()
    if not keyword:
        return None
    return {
        "animeId": anime_id,
        "animeTitle": _text(value.get("animeTitle")),
        "keyword": keyword,
        "offset": offset,
    }
