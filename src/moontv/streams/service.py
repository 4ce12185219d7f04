"""The stream services behind the proxy routes: upstream fetches, URL signing, ad decisions.

One ``StreamService`` per app (``AppState.streams``). Every upstream request goes through the
SSRF guard's client (each connection resolved, checked and pinned), with the per-source
``User-Agent``/``Referer`` from the source entry in the admin config:

=================  ========  ==========================================================
key                default   meaning
=================  ========  ==========================================================
``adFilter``       ``true``  analyse media playlists and remove ad blocks (site default:
                             ``MOONTV_AD_FILTER``)
``userAgent``      built in  ``User-Agent`` for playlists, segments, keys and probes
``referer``        none      ``Referer`` sent upstream
``proxySegments``  ``false`` route segments and init segments through ``/api/proxy/segment``
                             (for CDNs without CORS); keys always go through ``/api/proxy/key``
=================  ========  ==========================================================
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from prometheus_client import Counter, Histogram

from moontv.aes import aes_cbc_decrypt
from moontv.errors import ServiceError
from moontv.streams import ads
from moontv.streams.netguard import BlockedURL, NetGuard
from moontv.streams.playlist import (
    ENCRYPTED_SEGMENT,
    KEY,
    MAP,
    PLAYLIST,
    SEGMENT,
    Limits,
    Playlist,
    Segment,
    UriMapper,
    check_limits,
    decode,
    looks_like_playlist,
    parse,
    rewrite,
)
from moontv.useragent import BROWSER_USER_AGENT

DEFAULT_USER_AGENT = BROWSER_USER_AGENT
MAX_KEY_BYTES = 64 * 1024
ADS_CACHE_TTL = 3600.0
ADS_CACHE_SIZE = 4096
# Playlists over this size are parsed and rewritten in a worker thread, at most two at a time,
# so the event loop keeps answering while a big (but allowed) playlist is processed.
MAX_RANGE_READ = 1024 * 1024
INLINE_PARSE_BYTES = 64 * 1024
BIG_PARSE_SLOTS = 2
SIGNATURE_HOURS = 6

T = TypeVar("T")


class UpstreamError(ServiceError):
    """An upstream answered badly or not at all. ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, *, upstream_status: int | None = None) -> None:
        super().__init__(status, message)
        if upstream_status is not None:
            self.extra["upstreamStatus"] = upstream_status
        self.upstream_status = upstream_status


@dataclass(frozen=True, slots=True)
class SourceOptions:
    key: str = ""
    ad_filter: bool = True
    user_agent: str = DEFAULT_USER_AGENT
    referer: str | None = None
    proxy_segments: bool = False

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept": "*/*", "Accept-Encoding": "identity"}
        if self.referer:
            headers["Referer"] = self.referer
        return headers


def _flag(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "off", "no"):
        return False
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "on", "yes"):
        return True
    return default


def _header_value(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > 512 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    return value


LIVE_PREFIX = "live:"  # "live:{key}" names a live TV source (LiveConfig) in proxied URLs


def source_options(config: dict[str, Any], key: str, *, ad_default: bool = True) -> SourceOptions:
    if key.startswith(LIVE_PREFIX):  # live streams: the source's UA, never ad analysis
        live = next(
            (e for e in config.get("LiveConfig") or [] if isinstance(e, dict) and e.get("key") == key[5:]),
            None,
        )
        agent = _header_value(live.get("ua")) if live else None
        return SourceOptions(key=key, ad_filter=False, user_agent=agent or "AptvPlayer/1.4.10")
    entry = next(
        (s for s in config.get("SourceConfig") or [] if isinstance(s, dict) and s.get("key") == key), None
    )
    if entry is None:  # unknown or no source: defaults, but keep the key so nested URLs carry it
        return SourceOptions(key=key, ad_filter=ad_default)
    return SourceOptions(
        key=key,
        ad_filter=_flag(entry.get("adFilter"), ad_default),
        user_agent=_header_value(entry.get("userAgent")) or DEFAULT_USER_AGENT,
        referer=_header_value(entry.get("referer")),
        proxy_segments=_flag(entry.get("proxySegments"), False),
    )


def consume_result(task: asyncio.Future[Any]) -> None:
    """Mark a background task's outcome as seen (its callers may all have gone away)."""
    if not task.cancelled():
        task.exception()


class SingleFlightCache(Generic[T]):
    """A small LRU with expiry and single-flight loading (one upstream job per key at a time)."""

    def __init__(
        self,
        size: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_bytes: int | None = None,
        weigh: Callable[[T], int] | None = None,
    ) -> None:
        self.size = size
        self.ttl = ttl
        self.clock = clock
        self.max_bytes = max_bytes
        self.weigh = weigh
        self.bytes = 0
        self._items: OrderedDict[Any, tuple[float, T]] = OrderedDict()
        self._weights: dict[Any, int] = {}
        self._loading: dict[Any, asyncio.Future[T]] = {}  # single flight: key -> loader task

    def get(self, key: Any) -> T | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] < self.clock():
            self.discard(key)
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: Any, value: T, ttl: float | None = None) -> None:
        weight = self.weigh(value) if self.weigh is not None else 0
        if self.max_bytes is not None and weight > self.max_bytes:
            self.discard(key)  # larger than the whole budget: not kept at all
            return
        self.discard(key)
        self._items[key] = (self.clock() + (self.ttl if ttl is None else ttl), value)
        self._weights[key] = weight
        self.bytes += weight
        while len(self._items) > self.size or (self.max_bytes is not None and self.bytes > self.max_bytes):
            oldest, _ = self._items.popitem(last=False)
            self.bytes -= self._weights.pop(oldest, 0)

    def discard(self, key: Any) -> None:
        if self._items.pop(key, None) is not None:
            self.bytes -= self._weights.pop(key, 0)

    async def load(self, key: Any, loader: Callable[[], Awaitable[tuple[T, float | None]]]) -> tuple[T, bool]:
        """(value, from_cache). ``loader`` returns (value, ttl or None for the default; 0 = don't keep).

        The loader runs as its own task: a caller that goes away (client disconnect) neither
        cancels it nor the other callers waiting for the same key.
        """
        cached = self.get(key)
        if cached is not None:
            return cached, True
        running = self._loading.get(key)
        if running is not None:
            return await asyncio.shield(running), True
        task = asyncio.ensure_future(self._run(key, loader))
        task.add_done_callback(consume_result)
        self._loading[key] = task
        return await asyncio.shield(task), False

    async def _run(self, key: Any, loader: Callable[[], Awaitable[tuple[T, float | None]]]) -> T:
        try:
            value, ttl = await loader()
        finally:
            self._loading.pop(key, None)
        if ttl != 0:
            self.put(key, value, ttl)
        return value


class QueueFull(Exception):
    """No slot freed up within the queue's wait limit (answer 429)."""


class UserQueue:
    """Per-user concurrency plus a shared server-wide semaphore, both with a short wait limit."""

    def __init__(self, per_user: int, wait: float) -> None:
        self.per_user = per_user
        self.wait = wait
        self._users: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def slot(self, user: str, shared: asyncio.Semaphore) -> AsyncIterator[None]:
        semaphore, holders = self._users.get(user) or (asyncio.Semaphore(self.per_user), 0)
        self._users[user] = (semaphore, holders + 1)
        got_user = got_shared = False
        try:
            try:
                async with asyncio.timeout(self.wait):
                    await semaphore.acquire()
                    got_user = True
                    await shared.acquire()
                    got_shared = True
            except TimeoutError:
                raise QueueFull from None
            yield
        finally:
            if got_shared:
                shared.release()
            if got_user:
                semaphore.release()
            semaphore, holders = self._users[user]
            if holders <= 1:
                del self._users[user]
            else:
                self._users[user] = (semaphore, holders - 1)


class StreamService:
    def __init__(
        self,
        *,
        guard: NetGuard,
        secret: bytes,
        timeout: float,
        probe_concurrency: int = 16,
        speedtest_concurrency: int = 4,
        speedtest_per_user: int = 2,
        speedtest_wait: float = 2.0,
        ad_default: bool = True,
        registry: Any = None,
        limits: Limits | None = None,
        ads_cache_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.guard = guard
        self.timeout = timeout
        self.ad_default = ad_default
        self.limits = limits or Limits()
        self._big_parses = asyncio.Semaphore(BIG_PARSE_SLOTS)
        self.client = guard.client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            max_redirects=5,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30),
        )
        self._key = hmac.new(secret, b"moontv/stream-proxy/v1", hashlib.sha256).digest()
        self.ads_cache: SingleFlightCache[tuple[str, ads.Decision]] = SingleFlightCache(
            ADS_CACHE_SIZE, ADS_CACHE_TTL, max_bytes=ads_cache_bytes, weigh=lambda item: item[1].weight()
        )
        self.key_cache: SingleFlightCache[bytes] = SingleFlightCache(256, 600.0)
        self.probe_limiter = asyncio.Semaphore(probe_concurrency)  # ad probes, server-wide
        self.speed_limiter = asyncio.Semaphore(speedtest_concurrency)  # source speed tests
        self.speed_queue = UserQueue(speedtest_per_user, speedtest_wait)
        self.speed_cache: SingleFlightCache[dict[str, Any]] = SingleFlightCache(1024, 300.0)
        self.ads_removed = self.ads_seconds = self.ads_runs = None
        if registry is not None:
            self.ads_runs = Counter(
                "moontv_ads_analyses_total",
                "Ad analyses of media playlists by outcome",
                ["status"],
                registry=registry,
            )
            self.ads_removed = Counter(
                "moontv_ads_removed_blocks_total", "Ad blocks removed from playlists", registry=registry
            )
            self.ads_seconds = Histogram(
                "moontv_ads_analysis_seconds",
                "Time to analyse one media playlist for ads",
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
                registry=registry,
            )

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- signing -----------------------------------------------------------------------------

    def sign(self, kind: str, source: str, url: str, user: str, expires: int) -> str:
        """A MAC over what the proxied URL may fetch, for whom and until when."""
        message = f"{kind}\n{source}\n{url}\n{user}\n{expires}".encode()
        mac = hmac.new(self._key, message, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def verify(self, kind: str, source: str, url: str, user: str, expires: str, signature: str) -> bool:
        """True for an unexpired signature issued to ``user``; never raises."""
        if not (signature.isascii() and expires.isascii() and expires.isdigit()) or len(expires) > 12:
            return False  # compare_digest raises on non-ASCII text
        if not signature or int(expires) < time.time():
            return False
        return hmac.compare_digest(self.sign(kind, source, url, user, int(expires)), signature)

    def mapper(self, opts: SourceOptions, user: str) -> Callable[[str, str], str]:
        """URIs in a proxied playlist, relative to ``/api/proxy/m3u8`` so a path prefix keeps working.

        Segment and key URLs are signed for ``user`` and expire 6-7 h from now (an hour bucket, so
        a playlist rendered twice in an hour keeps its URLs and the browser cache keeps working).
        """
        source = quote(opts.key, safe="")
        expires = (int(time.time()) // 3600 + SIGNATURE_HOURS + 1) * 3600

        def route(name: str, kind: str, url: str) -> str:
            signed = ""
            if kind != PLAYLIST:
                signed = f"&exp={expires}&sig={self.sign(kind, opts.key, url, user, expires)}"
            return f"{name}?url={quote(url, safe='')}&source={source}{signed}"

        def map_uri(kind: str, url: str) -> str:
            if not url.lower().startswith(("http://", "https://")):
                return url  # data:, skd:// and other non-fetchable URIs stay as they are
            if kind == PLAYLIST:
                return route("m3u8", PLAYLIST, url)
            if kind == KEY:
                return route("key", KEY, url)
            if kind == ENCRYPTED_SEGMENT and opts.proxy_segments:
                return route("segment", ENCRYPTED_SEGMENT, url) + "&enc=1"
            if kind in (SEGMENT, MAP) and opts.proxy_segments:
                return route("segment", SEGMENT, url)
            return url

        return map_uri

    # -- upstream fetches --------------------------------------------------------------------

    async def fetch_playlist(self, url: str, opts: SourceOptions) -> tuple[str, str]:
        """(final URL after redirects, playlist text)."""
        body, final = await self.fetch_bytes(url, opts, self.limits.max_bytes, "播放列表")
        if not looks_like_playlist(body):
            raise UpstreamError(502, "上游返回的不是 m3u8 播放列表")
        return final, decode(body)

    # -- bounded parsing: the one entry point for every playlist a request parses ------------

    async def _off_loop(self, size: int, work: Callable[[], T]) -> T:
        if size <= INLINE_PARSE_BYTES:
            return work()
        async with self._big_parses:
            return await asyncio.to_thread(work)

    async def parse_playlist(self, text: str, base_url: str) -> Playlist:
        """Parse within ``self.limits`` (PlaylistTooLarge above them); big inputs off the event loop."""
        check_limits(text, self.limits)
        return await self._off_loop(len(text), lambda: parse(text, base_url, self.limits))

    async def rewrite_playlist(
        self, playlist: Playlist, mapper: UriMapper, remove: frozenset[int], size: int
    ) -> str:
        return await self._off_loop(size, lambda: rewrite(playlist, mapper, remove))

    async def fetch_bytes(self, url: str, opts: SourceOptions, cap: int, what: str) -> tuple[bytes, str]:
        try:
            async with self.client.stream("GET", url, headers=opts.headers()) as response:
                if response.status_code >= 400:
                    raise UpstreamError(
                        502, f"上游返回 HTTP {response.status_code}", upstream_status=response.status_code
                    )
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap:
                    raise UpstreamError(502, f"{what}过大")
                chunks = []
                total = 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > cap:
                        raise UpstreamError(502, f"{what}过大")
                    chunks.append(chunk)
                return b"".join(chunks), str(response.url)
        except BlockedURL:
            raise
        except httpx.TimeoutException:
            raise UpstreamError(504, "上游请求超时") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"上游请求失败: {type(exc).__name__}") from None

    async def range_read(self, url: str, offset: int, length: int, opts: SourceOptions) -> bytes:
        """Up to ``length`` bytes from ``offset`` (Range request; servers that ignore Range are cut short).

        ``length`` is capped at ``MAX_RANGE_READ``: callers read probes and headers, never media.
        """
        if offset < 0 or length <= 0:
            return b""
        length = min(length, MAX_RANGE_READ)
        headers = opts.headers()
        headers["Range"] = f"bytes={offset}-{offset + length - 1}"
        async with self.client.stream("GET", url, headers=headers) as response:
            if response.status_code >= 400:
                raise ads.ProbeError(f"HTTP {response.status_code}")
            skip = offset if response.status_code == 200 else 0
            if skip > MAX_RANGE_READ:
                raise ads.ProbeError("upstream ignores Range (would have to read past the offset)")
            buffer = bytearray()
            async for chunk in response.aiter_bytes():
                if skip:
                    cut = min(skip, len(chunk))
                    chunk = chunk[cut:]
                    skip -= cut
                buffer.extend(chunk)
                if len(buffer) >= length:
                    break
            return bytes(buffer[:length])

    async def fetch_key(self, url: str, opts: SourceOptions) -> bytes:
        async def load() -> tuple[bytes, float | None]:
            body, _ = await self.fetch_bytes(url, opts, MAX_KEY_BYTES, "密钥")
            return body, None

        value, _ = await self.key_cache.load((opts.key, url), load)
        return value

    async def _decrypt(self, segment: Segment, data: bytes, opts: SourceOptions) -> bytes:
        assert segment.key is not None and segment.key.uri is not None
        key = await self.fetch_key(segment.key.uri, opts)
        if len(key) != 16:
            raise ads.ProbeError("AES-128 key is not 16 bytes")
        if segment.key.iv:
            iv = bytes.fromhex(
                segment.key.iv[2:] if segment.key.iv.lower().startswith("0x") else segment.key.iv
            )
            iv = iv.rjust(16, b"\0")[-16:]
        else:
            iv = segment.sequence.to_bytes(16, "big")
        # Raw blocks (a probe reads a prefix, so no padding); a trailing partial block is dropped.
        return aes_cbc_decrypt(key, iv, data[: len(data) - len(data) % 16], padding=False)

    # -- ads ---------------------------------------------------------------------------------

    def prober(self, opts: SourceOptions) -> ads.Prober:
        async def fetch(url: str, offset: int, length: int) -> bytes:
            return await self.range_read(url, offset, length, opts)

        async def decrypt(segment: Segment, data: bytes) -> bytes:
            return await self._decrypt(segment, data, opts)

        return ads.Prober(fetch, concurrency=8, decrypt=decrypt, limiter=self.probe_limiter)

    async def decide(
        self, url: str, playlist: Playlist, text: str, opts: SourceOptions, *, refresh: bool = False
    ) -> tuple[ads.Decision, bool]:
        """The (cached) ad decision for a media playlist; (decision, from_cache)."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        if len(playlist.segments) > ads.MAX_ANALYSED_SEGMENTS:
            return ads.skipped(f"{len(playlist.segments)} segments (over {ads.MAX_ANALYSED_SEGMENTS})"), False
        key = (opts.key, url)
        if refresh:
            self.ads_cache.discard(key)
        cached = self.ads_cache.get(key)
        if cached is not None and cached[0] == digest:
            return cached[1], True
        if cached is not None:
            self.ads_cache.discard(key)  # the playlist changed: decide again

        async def load() -> tuple[tuple[str, ads.Decision], float | None]:
            decision = await ads.analyse(playlist, self.prober(opts), deadline=min(self.timeout, 8.0))
            if self.ads_runs is not None:
                self.ads_runs.labels(decision.status).inc()
            if self.ads_seconds is not None:
                self.ads_seconds.observe(decision.elapsed_ms / 1000)
            if self.ads_removed is not None and decision.removed_blocks:
                self.ads_removed.inc(len(decision.removed_blocks))
            # probe failures may be transient: keep such decisions for a minute only
            shaky = any(b.probe_error for b in decision.blocks)
            return (digest, decision.compact()), (60.0 if shaky else None)

        (stored_digest, decision), from_cache = await self.ads_cache.load(key, load)
        if stored_digest != digest:  # another request loaded a different version meanwhile
            decision = await ads.analyse(playlist, self.prober(opts), deadline=min(self.timeout, 8.0))
            from_cache = False
        return decision, from_cache
