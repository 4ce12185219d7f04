"""Bangumi ``/calendar``: the week's airing anime, reduced to MoonTV cards per weekday."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson

from moontv.douban.client import USER_AGENT, card

MAX_BODY = 4 * 1024 * 1024
IMAGE_ORDER = ("large", "common", "medium", "small", "grid")


class BangumiError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _poster(item: dict[str, Any]) -> str:
    images = item.get("images")
    if not isinstance(images, dict):
        return ""
    for name in IMAGE_ORDER:
        value = images.get(name)
        if isinstance(value, str) and value:
            return "https://" + value[len("http://") :] if value.startswith("http://") else value
    return ""


def parse_calendar(data: Any) -> list[dict[str, Any]]:
    """``[{weekday: {en, cn, ja, id}, items: [card]}]``; items without an image are dropped."""
    if not isinstance(data, list):
        raise BangumiError("unexpected answer (not a list)")
    days = []
    for day in data:
        if not isinstance(day, dict):
            continue
        weekday = day.get("weekday") if isinstance(day.get("weekday"), dict) else {}
        items = []
        for item in day.get("items") or []:
            if not isinstance(item, dict):
                continue
            poster = _poster(item)
            if not poster:
                continue
            rating = item.get("rating")
            score = rating.get("score") if isinstance(rating, dict) else None
            rate = (
                f"{float(score):.1f}"
                if isinstance(score, int | float) and not isinstance(score, bool) and score
                else ""
            )
            air_date = item.get("air_date")
            year = air_date[:4] if isinstance(air_date, str) and air_date[:4].isdigit() else ""
            items.append(card(item.get("id"), item.get("name_cn") or item.get("name"), poster, rate, year))
        days.append(
            {
                "weekday": {k: weekday.get(k) for k in ("en", "cn", "ja", "id") if k in weekday},
                "items": items,
            }
        )
    return days


class BangumiClient:
    def __init__(self, http: httpx.AsyncClient, *, base: str, timeout: float, cache_ttl: float) -> None:
        self._http = http
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self._cached: tuple[float, list[dict[str, Any]]] | None = None
        self._lock = asyncio.Lock()

    async def calendar(self) -> list[dict[str, Any]]:
        async with self._lock:  # one upstream fetch at a time; waiters get the fresh cache
            cached = self._cached
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            days = parse_calendar(await self._download())
            if self.cache_ttl > 0:
                self._cached = (time.monotonic() + self.cache_ttl, days)
            return days

    async def _download(self) -> Any:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        try:
            async with (
                asyncio.timeout(self.timeout),
                self._http.stream("GET", f"{self.base}/calendar", headers=headers) as response,
            ):
                if not 200 <= response.status_code < 300:
                    raise BangumiError(f"HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise BangumiError("answer too large")
        except TimeoutError:
            raise BangumiError("timeout") from None
        except httpx.HTTPError as exc:
            raise BangumiError(type(exc).__name__) from None
        try:
            return orjson.loads(bytes(body))
        except orjson.JSONDecodeError:
            raise BangumiError("answer is not JSON") from None
