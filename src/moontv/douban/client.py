"""Server-side Douban client: URL building, the configured data proxy, parsing and a TTL cache.

Every answer is reduced to MoonTV's card shape ``{id, title, poster, rate, year}``. Posters stay
Douban URLs (pages rewrite them to the image proxy). Identical concurrent requests share one
upstream fetch, and successful answers are cached, to keep the request volume low (Douban
challenges heavy scraping).
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
import orjson

from moontv.config.view import SiteSettings
from moontv.search.cache import TTLCache
from moontv.useragent import BROWSER_USER_AGENT

USER_AGENT = BROWSER_USER_AGENT
HEADERS = {
    "User-Agent": USER_AGENT,
    "Referer": "https://movie.douban.com/",
    "Origin": "https://movie.douban.com",
    "Accept": "application/json, text/plain, */*",
}
MAX_BODY = 4 * 1024 * 1024
PROXY_TYPES = ("direct", "cors-proxy-zwei", "cmliussss-cdn-tencent", "cmliussss-cdn-ali", "custom")
ZWEI_PREFIX = "https://ciao-cors.is-an.org/"

_YEAR_RE = re.compile(r"\d{4}")
_ITEM_SPLIT_RE = re.compile(r'<div class="item"')
_SUBJECT_RE = re.compile(r"movie\.douban\.com/subject/(\d{1,12})/")
_IMG_RE = re.compile(r"<img\b[^>]{0,600}>")
_ATTR_RE = re.compile(r'\b(alt|src)="([^"]{0,1000})"')
_RATING_RE = re.compile(r'<span class="rating_num"[^>]{0,100}>\s*([\d.]{1,5})\s*</span>')


class DoubanError(Exception):
    """Douban (or the configured proxy) did not give a usable answer."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class DoubanProxy:
    """The site's Douban data-proxy setting (``SiteConfig.DoubanProxyType``/``DoubanProxy``)."""

    kind: str = "direct"
    url: str = ""

    @classmethod
    def from_site(cls, site: SiteSettings) -> DoubanProxy:
        kind = site.douban_proxy_type
        return cls(kind if kind in PROXY_TYPES else "direct", site.douban_proxy.strip())

    @property
    def is_direct(self) -> bool:
        return self.kind == "direct" or (self.kind == "custom" and not self.url)

    def apply(self, url: str) -> str:
        """The URL actually fetched for ``url`` under this proxy setting."""
        if self.is_direct:
            return url
        if self.kind == "cors-proxy-zwei":
            return ZWEI_PREFIX + quote(url, safe="")
        if self.kind in ("cmliussss-cdn-tencent", "cmliussss-cdn-ali"):
            parts = urlsplit(url)
            host = parts.hostname or ""
            if not host.endswith("douban.com"):
                return url
            tld = "net" if self.kind.endswith("tencent") else "com"
            return urlunsplit(parts._replace(netloc=host[: -len("douban.com")] + f"douban.cmliussss.{tld}"))
        return self.url + quote(url, safe="")


def card(id_: Any, title: Any, poster: Any, rate: Any, year: Any) -> dict[str, str]:
    return {
        "id": str(id_ if id_ is not None else ""),
        "title": str(title or ""),
        "poster": str(poster or ""),
        "rate": str(rate or ""),
        "year": str(year or ""),
    }


def _rating(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f"{float(value):.1f}" if value else ""


def _pic(item: Mapping[str, Any]) -> str:
    pic = item.get("pic")
    if isinstance(pic, dict):
        for name in ("normal", "large"):
            if isinstance(pic.get(name), str) and pic[name]:
                return str(pic[name])
    return ""


def _items(data: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise DoubanError("unexpected answer (not a JSON object)")
    items = data.get(field)
    if items is None:
        return []
    if not isinstance(items, list):
        raise DoubanError(f"unexpected answer ({field} is not a list)")
    return [i for i in items if isinstance(i, dict)]


def parse_subjects(data: Any) -> list[dict[str, str]]:
    """``/j/search_subjects`` -> cards (year is not part of that answer)."""
    return [
        card(s.get("id"), s.get("title"), s.get("cover"), s.get("rate"), "") for s in _items(data, "subjects")
    ]


def parse_recent_hot(data: Any) -> list[dict[str, str]]:
    out = []
    for item in _items(data, "items"):
        subtitle = item.get("card_subtitle")
        year = _YEAR_RE.search(subtitle) if isinstance(subtitle, str) else None
        rating = item.get("rating")
        rate = _rating(rating.get("value")) if isinstance(rating, dict) else ""
        out.append(card(item.get("id"), item.get("title"), _pic(item), rate, year.group(0) if year else ""))
    return out


def parse_recommend(data: Any) -> list[dict[str, str]]:
    out = []
    for item in _items(data, "items"):
        if item.get("type") not in ("movie", "tv"):
            continue
        rating = item.get("rating")
        rate = _rating(rating.get("value")) if isinstance(rating, dict) else ""
        out.append(card(item.get("id"), item.get("title"), _pic(item), rate, item.get("year")))
    return out


def parse_top250(text: str) -> list[dict[str, str]]:
    """The Top 250 HTML page: one card per ``div.item``."""
    out = []
    for block in _ITEM_SPLIT_RE.split(text)[1:]:
        block = block[:20000]
        subject = _SUBJECT_RE.search(block)
        img = _IMG_RE.search(block)
        if subject is None or img is None:
            continue
        attrs = dict(_ATTR_RE.findall(img.group(0)))
        poster = html.unescape(attrs.get("src", ""))
        if poster.startswith("http://"):
            poster = "https://" + poster[len("http://") :]
        rating = _RATING_RE.search(block)
        out.append(
            card(
                subject.group(1),
                html.unescape(attrs.get("alt", "")),
                poster,
                rating.group(1) if rating else "",
                "",
            )
        )
    return out


def _selected(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value == "all" else value


class DoubanClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base: str,
        m_base: str,
        timeout: float,
        cache_ttl: float,
        proxy_http: Callable[[], httpx.AsyncClient] | None = None,
        max_entries: int = 1024,
    ) -> None:
        self._http = http
        # Proxy URLs are admin-entered: they go through the SSRF-guarded client when one is given.
        self._proxy_http = proxy_http or (lambda: http)
        self.base = base.rstrip("/")
        self.m_base = m_base.rstrip("/")
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self._cache: TTLCache[Any] = TTLCache(max_entries)
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    # -- URLs ----------------------------------------------------------------------------------
    def subjects_url(self, type_: str, tag: str, page_size: int, page_start: int) -> str:
        query = urlencode(
            {
                "type": type_,
                "tag": tag,
                "sort": "recommend",
                "page_limit": page_size,
                "page_start": page_start,
            }
        )
        return f"{self.base}/j/search_subjects?{query}"

    def top250_url(self, start: int) -> str:
        return f"{self.base}/top250?start={start}&filter="

    def recent_hot_url(self, kind: str, category: str, type_: str, limit: int, start: int) -> str:
        query = urlencode({"start": start, "limit": limit, "category": category, "type": type_})
        return f"{self.m_base}/rexxar/api/v2/subject/recent_hot/{kind}?{query}"

    def recommend_url(
        self,
        kind: str,
        *,
        limit: int,
        start: int,
        category: str | None = None,
        format_: str | None = None,
        region: str | None = None,
        year: str | None = None,
        platform: str | None = None,
        label: str | None = None,
        sort: str | None = None,
    ) -> str:
        category, format_, region = _selected(category), _selected(format_), _selected(region)
        year, platform, label = _selected(year), _selected(platform), _selected(label)
        selected: dict[str, str] = {"类型": category}
        if format_:
            selected["形式"] = format_
        if region:
            selected["地区"] = region
        tags = [t for t in (category or format_, label, region, year, platform) if t]
        params: dict[str, Any] = {
            "refresh": 0,
            "start": start,
            "count": limit,
            "selected_categories": orjson.dumps(selected).decode(),
            "uncollect": "false",
            "score_range": "0,10",
            "tags": ",".join(tags),
        }
        sort = (sort or "").strip()
        if sort and sort != "T":
            params["sort"] = sort
        return f"{self.m_base}/rexxar/api/v2/{kind}/recommend?{urlencode(params)}"

    # -- fetches -------------------------------------------------------------------------------
    async def subjects(
        self, type_: str, tag: str, page_size: int, page_start: int, proxy: DoubanProxy = DoubanProxy()
    ) -> list[dict[str, str]]:
        if tag == "top250":
            text = await self._fetch(self.top250_url(page_start), proxy, as_json=False)
            return parse_top250(text)
        data = await self._fetch(self.subjects_url(type_, tag, page_size, page_start), proxy)
        return parse_subjects(data)

    async def recent_hot(
        self, kind: str, category: str, type_: str, limit: int, start: int, proxy: DoubanProxy = DoubanProxy()
    ) -> list[dict[str, str]]:
        data = await self._fetch(self.recent_hot_url(kind, category, type_, limit, start), proxy)
        return parse_recent_hot(data)

    async def recommend(
        self, kind: str, proxy: DoubanProxy = DoubanProxy(), **params: Any
    ) -> list[dict[str, str]]:
        data = await self._fetch(self.recommend_url(kind, **params), proxy)
        return parse_recommend(data)

    async def _fetch(self, url: str, proxy: DoubanProxy, *, as_json: bool = True) -> Any:
        target = proxy.apply(url)
        key = f"{'j' if as_json else 't'}:{target}"
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            http = self._http if proxy.is_direct else self._proxy_http()
            value = await self._download(http, target, as_json)
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else DoubanError("cancelled"))
            future.exception()  # consumed here: waiters re-raise it themselves
            raise
        else:
            future.set_result(value)
            self._cache.put(key, value, self.cache_ttl)
            return value
        finally:
            self._inflight.pop(key, None)

    async def _download(self, http: httpx.AsyncClient, url: str, as_json: bool) -> Any:
        try:
            async with (
                asyncio.timeout(self.timeout),
                http.stream("GET", url, headers=HEADERS, timeout=httpx.Timeout(self.timeout)) as response,
            ):
                if not 200 <= response.status_code < 300:
                    raise DoubanError(f"HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise DoubanError("answer too large")
        except TimeoutError:
            raise DoubanError("timeout") from None
        except httpx.HTTPError as exc:  # the SSRF guard's refusal (BlockedURL) carries a reason
            raise DoubanError(getattr(exc, "reason", None) or type(exc).__name__) from None
        if not as_json:
            return bytes(body).decode("utf-8", "replace")
        try:
            return orjson.loads(bytes(body))
        except orjson.JSONDecodeError:
            raise DoubanError("answer is not JSON") from None

    def clear(self) -> None:
        self._cache.clear()
