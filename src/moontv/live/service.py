"""Live sources at run time: playlist and guide fetches (SSRF-guarded, the source's UA,
byte caps, timeouts), in-memory caches with single-flight loading, health results.

Config entries are LunaTV's ``LiveConfig`` items: ``{key, name, url, ua, epg, from,
channelNumber, disabled}``. Nothing here knows about HTTP requests or responses of our own API.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx
import orjson

from moontv.errors import ServiceError
from moontv.live import epg as guide
from moontv.live.health import HealthBook, check_urls
from moontv.live.playlist import MAX_BYTES, Channel, ParsedPlaylist, parse
from moontv.streams.netguard import BlockedURL, NetGuard

log = logging.getLogger("moontv.live")

DEFAULT_UA = "AptvPlayer/1.4.10"  # what the MoonTV family's TV apps send when a source sets none
PLAYLIST_TTL = 30 * 60.0
GUIDE_TTL = 6 * 3600.0
DIYP_TTL = 3600.0
FAILURE_TTL = 20.0
GUIDE_DAYS_BEFORE = 1
GUIDE_DAYS_AFTER = 2
MAX_GUIDE_URLS = 3
DIYP_MAX_BYTES = 512 * 1024
FEED_BATCH = 1024 * 1024
T = TypeVar("T")


class LiveError(ServiceError):
    """A live source could not be loaded; ``message`` is for users."""

    def __init__(self, message: str, *, status: int = 502) -> None:
        super().__init__(status, message)


@dataclass(frozen=True, slots=True)
class LiveSource:
    key: str
    name: str
    url: str
    ua: str = ""
    epg: str = ""

    @property
    def user_agent(self) -> str:
        return self.ua or DEFAULT_UA

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> LiveSource:
        return cls(
            key=entry["key"],
            name=entry.get("name") or entry["key"],
            url=entry.get("url") or "",
            ua=entry.get("ua") or "",
            epg=entry.get("epg") or "",
        )


def live_entries(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in config.get("LiveConfig") or [] if isinstance(e, dict) and e.get("key")]


def enabled_live_sources(config: dict[str, Any]) -> list[LiveSource]:
    return [LiveSource.from_entry(e) for e in live_entries(config) if not e.get("disabled") and e.get("url")]


@dataclass(slots=True)
class _Entry:
    value: Any
    expires: float
    fingerprint: tuple[str, ...]


@dataclass(slots=True)
class GuideResult:
    programmes: dict[str, list[guide.Programme]] = field(default_factory=dict)
    url: str = ""  # the guide URL used (a DIYP template when per-channel)
    diyp: bool = False
    error: str = ""


class _Cache:
    """Per-key values with expiry and single-flight loading (the loader runs as its own task)."""

    def __init__(self, size: int, clock: Callable[[], float]) -> None:
        self.size = size
        self.clock = clock
        self.items: OrderedDict[Any, _Entry] = OrderedDict()
        self.loading: dict[Any, asyncio.Task[Any]] = {}

    def peek(self, key: Any, fingerprint: tuple[str, ...]) -> Any:
        entry = self.items.get(key)
        if entry is None or entry.fingerprint != fingerprint or entry.expires < self.clock():
            return None
        return entry.value

    async def get(
        self,
        key: Any,
        fingerprint: tuple[str, ...],
        ttl: float,
        loader: Callable[[], Awaitable[T]],
        *,
        force: bool = False,
    ) -> T:
        if not force:
            cached: T | None = self.peek(key, fingerprint)
            if cached is not None:
                return cached
        task = self.loading.get((key, fingerprint))
        if task is None:
            task = asyncio.ensure_future(self._run(key, fingerprint, ttl, loader))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self.loading[(key, fingerprint)] = task
        loaded: T = await asyncio.shield(task)
        return loaded

    async def _run(
        self, key: Any, fingerprint: tuple[str, ...], ttl: float, loader: Callable[[], Awaitable[Any]]
    ) -> Any:
        try:
            value = await loader()
        finally:
            self.loading.pop((key, fingerprint), None)
        self.items[key] = _Entry(value, self.clock() + ttl, fingerprint)
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return value

    def drop(self, key: Any) -> None:
        self.items.pop(key, None)


class _Batcher:
    """Hands guide bytes to the parser in ~1 MB batches on a worker thread (the loop stays free)."""

    def __init__(self, stream: guide.XmltvStream) -> None:
        self.stream = stream
        self.pending: list[bytes] = []
        self.size = 0

    async def add(self, chunk: bytes) -> None:
        self.pending.append(chunk)
        self.size += len(chunk)
        if self.size >= FEED_BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self.pending:
            batch = b"".join(self.pending)
            self.pending.clear()
            self.size = 0
            await asyncio.to_thread(self.stream.feed, batch)


class LiveService:
    def __init__(
        self,
        guard: NetGuard,
        *,
        timeout: float = 15.0,
        health_concurrency: int = 8,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.guard = guard
        self.client = guard.client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            max_redirects=3,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16, keepalive_expiry=30),
        )
        self.clock = clock
        self.now = now
        self.playlists = _Cache(256, clock)
        self.guides = _Cache(64, clock)
        self.diyp = _Cache(4096, clock)
        self.failures: dict[str, tuple[float, str, LiveError]] = {}
        self.health = HealthBook()
        self.health_limiter = asyncio.Semaphore(health_concurrency)
        self.guide_limiter = asyncio.Semaphore(1)  # one big XMLTV parse at a time, server-wide

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- fetching ---------------------------------------------------------------------------

    async def _stream(
        self, url: str, ua: str, cap: int, sink: Callable[[bytes], Awaitable[None]] | None = None
    ) -> bytes:
        """GET ``url``; with ``sink`` the body goes there chunk by chunk, else it is returned."""
        chunks: list[bytes] = []
        total = 0
        try:
            headers = {"User-Agent": ua, "Accept": "*/*"}
            async with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    raise LiveError(f"上游返回 HTTP {response.status_code}")
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap:
                    raise LiveError("上游内容过大")
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > cap:
                        raise LiveError("上游内容过大")
                    if sink is None:
                        chunks.append(chunk)
                    else:
                        await sink(chunk)
        except BlockedURL as exc:
            raise LiveError("不允许访问该地址", status=403) from exc
        except httpx.TimeoutException:
            raise LiveError("上游请求超时", status=504) from None
        except httpx.HTTPError as exc:
            raise LiveError(f"上游请求失败: {type(exc).__name__}") from None
        return b"".join(chunks)

    # -- playlists --------------------------------------------------------------------------

    async def playlist(self, source: LiveSource, *, force: bool = False) -> ParsedPlaylist:
        failed = self.failures.get(source.key)
        if not force and failed is not None and failed[0] > self.clock() and failed[1] == source.url:
            raise failed[2]  # a source that just failed is not fetched again for FAILURE_TTL

        async def load() -> ParsedPlaylist:
            body = await self._stream(source.url, source.user_agent, MAX_BYTES)
            parsed = await asyncio.to_thread(parse, body)
            if not parsed.channels:
                raise LiveError("直播源没有可用的频道")
            return parsed

        try:
            parsed = await self.playlists.get(
                source.key, (source.url, source.ua), PLAYLIST_TTL, load, force=force
            )
        except LiveError as exc:
            self.failures[source.key] = (self.clock() + FAILURE_TTL, source.url, exc)
            raise
        self.failures.pop(source.key, None)
        return parsed

    def cached_playlist(self, source: LiveSource) -> ParsedPlaylist | None:
        value = self.playlists.peek(source.key, (source.url, source.ua))
        return value if isinstance(value, ParsedPlaylist) else None

    def forget(self, key: str) -> None:
        self.failures.pop(key, None)
        self.playlists.drop(key)
        self.guides.drop(key)

    def sorted_urls(self, source: LiveSource, channel: Channel, urls: list[str]) -> list[str]:
        """Reachable first (fastest first), unchecked next, dead last; listing order breaks ties."""
        return self.health.sort(source.key, urls)

    # -- guides -----------------------------------------------------------------------------

    def guide_urls(self, source: LiveSource, parsed: ParsedPlaylist) -> list[str]:
        if source.epg:
            return [u.strip() for u in source.epg.split(",") if u.strip()][:MAX_GUIDE_URLS]
        return parsed.epg_urls[:MAX_GUIDE_URLS]

    async def guide(self, source: LiveSource, parsed: ParsedPlaylist, *, force: bool = False) -> GuideResult:
        urls = self.guide_urls(source, parsed)
        if not urls:
            return GuideResult()
        if guide.is_diyp(urls[0]):
            return GuideResult(url=urls[0], diyp=True)

        async def load() -> GuideResult:
            return await self._load_xmltv(source, parsed, urls)

        return await self.guides.get(source.key, (source.ua, *urls), GUIDE_TTL, load, force=force)

    async def _load_xmltv(self, source: LiveSource, parsed: ParsedPlaylist, urls: list[str]) -> GuideResult:
        now = self.now()
        wanted = guide.Wanted.from_channels(parsed.channels)
        result = GuideResult()
        errors = []
        async with self.guide_limiter:
            for url in urls:
                stream = guide.XmltvStream(
                    wanted,
                    window_start=now - timedelta(days=GUIDE_DAYS_BEFORE),
                    window_end=now + timedelta(days=GUIDE_DAYS_AFTER),
                )
                batcher = _Batcher(stream)
                try:
                    await self._stream(url, source.user_agent, guide.MAX_COMPRESSED_BYTES, batcher.add)
                    await batcher.flush()
                    found = await asyncio.to_thread(stream.close)
                except (LiveError, guide.EpgError) as exc:
                    errors.append(f"{url}: {getattr(exc, 'message', exc)}")
                    log.warning("live guide %s for %s failed: %s", url, source.key, exc)
                    continue
                for channel_id, items in found.items():
                    result.programmes.setdefault(channel_id, items)
                if found and not result.url:
                    result.url = url  # the first guide that had programmes for this playlist
        result.url = result.url or urls[0]
        result.error = "; ".join(errors)
        return result

    async def diyp_day(
        self, template: str, source: LiveSource, channel: Channel, day: date
    ) -> list[guide.Programme]:
        url = guide.diyp_url(template, channel.tvg_name or channel.name, day)

        async def load() -> list[guide.Programme]:
            try:
                body = await self._stream(url, source.user_agent, DIYP_MAX_BYTES)
                return guide.parse_diyp(orjson.loads(body), day)
            except (LiveError, orjson.JSONDecodeError) as exc:
                log.info("DIYP guide %s failed: %s", url, exc)
                return []

        return await self.diyp.get(url, (), DIYP_TTL, load)

    async def programmes(
        self, source: LiveSource, channel: Channel, day: date | None = None
    ) -> tuple[str, list[guide.Programme]]:
        """(guide URL, programmes of ``channel``; for DIYP the given day, default today and tomorrow)."""
        parsed = await self.playlist(source)
        result = await self.guide(source, parsed)
        if not result.diyp:
            return result.url, result.programmes.get(channel.id, [])
        today = self.now().astimezone(guide.DIYP_TZ).date()
        days = [day] if day is not None else [today, today + timedelta(days=1)]
        items: list[guide.Programme] = []
        for one in days:
            items.extend(await self.diyp_day(result.url, source, channel, one))
        return result.url, items

    # -- health -----------------------------------------------------------------------------

    async def check_health(self, source: LiveSource, *, per_url_timeout: float = 6.0) -> dict[str, int]:
        parsed = await self.playlist(source)
        urls = [u for c in parsed.channels for u in c.urls]
        results = await check_urls(
            self.client, urls, source.user_agent, limiter=self.health_limiter, timeout=per_url_timeout
        )
        self.health.record(source.key, results)
        alive = sum(1 for r in results.values() if r.ok)
        return {"checked": len(results), "alive": alive, "dead": len(results) - alive}
