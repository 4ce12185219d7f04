"""Poster image proxy: any public host (or an allow-list), SSRF-guarded, capped, rate-limited per host,
cached in memory and on disk."""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import httpx

from moontv.streams import sniff
from moontv.streams.netguard import BlockedURL, NetGuard, host_allowed
from moontv.streams.service import DEFAULT_USER_AGENT, UpstreamError, consume_result

DOUBAN_REFERER = "https://movie.douban.com/"
CACHE_SECONDS = 7 * 86400
MEMORY_BYTES = 32 * 1024 * 1024
# Image types browsers render as images; SVG is refused (it can carry script when opened directly).
ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/jpg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "image/x-icon",
    }
)


class HostRateLimit:
    """A token bucket per upstream host: ``burst`` fetches at once, then ``per_second``.

    Only upstream fetches spend tokens (cache hits are free), so a client cannot make the server
    hammer one host. ``per_second <= 0`` turns the limit off. The table keeps at most ``max_hosts``
    hosts (least recently used go first).
    """

    def __init__(self, per_second: float, burst: int, *, max_hosts: int = 4096) -> None:
        self.per_second = per_second
        self.burst = float(max(burst, 1))
        self.max_hosts = max_hosts
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, host: str, now: float | None = None) -> float:
        """0.0 when a fetch may start now, else the seconds until the next token."""
        if self.per_second <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, stamp = self._buckets.pop(host, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.per_second
        self._buckets[host] = (tokens, now)
        while len(self._buckets) > self.max_hosts:
            self._buckets.popitem(last=False)
        return wait


@dataclass(frozen=True, slots=True)
class Image:
    content_type: str
    body: bytes
    stored_at: float


def on_disk(stat: os.stat_result) -> int:
    """Bytes a file takes on disk: its allocated blocks (512-byte units), at least its size."""
    return max(getattr(stat, "st_blocks", 0) * 512, stat.st_size)


class ImageProxy:
    def __init__(
        self,
        guard: NetGuard,
        *,
        allow_hosts: tuple[str, ...],
        max_bytes: int,
        timeout: float,
        cache_dir: Path | None,
        disk_bytes: int,
        host_rate: float = 0.0,
        host_burst: int = 60,
    ) -> None:
        self.allow_hosts = allow_hosts
        self.rate_limit = HostRateLimit(host_rate, host_burst)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.guard = guard
        self.client = guard.client(timeout=timeout, max_redirects=3, allow_hosts=allow_hosts)
        self.cache_dir = cache_dir if disk_bytes > 0 else None
        self.disk_bytes = disk_bytes
        self._memory: OrderedDict[str, Image] = OrderedDict()
        self._memory_size = 0
        self._loading: dict[str, asyncio.Future[Image]] = {}
        self._disk_used: int | None = None

    async def aclose(self) -> None:
        await self.client.aclose()

    def check(self, url: str) -> None:
        """Syntax and allow-list (raises BlockedURL); the address checks (no private, loopback or
        link-local targets, re-checked on every redirect) happen on connect."""
        self.guard.check_syntax(url, self.allow_hosts)

    async def get(self, url: str) -> tuple[Image, str]:
        """(image, "memory"|"disk"|"upstream")."""
        key = hashlib.sha256(url.encode()).hexdigest()
        image = self._memory_get(key)
        if image is not None:
            return image, "memory"
        image = await asyncio.to_thread(self._disk_get, key)
        if image is not None:
            self._memory_put(key, image)
            return image, "disk"
        running = self._loading.get(key)
        if running is None:
            host = httpx.URL(url).raw_host.decode("ascii", "replace").lower()
            wait = self.rate_limit.take(host)
            if wait > 0:
                raise UpstreamError(429, f"对 {host} 的图片请求过于频繁，请 {math.ceil(wait)} 秒后再试")
            # its own task: a client that disconnects does not cancel the fetch for the others
            running = asyncio.ensure_future(self._load(key, url))
            running.add_done_callback(consume_result)
            self._loading[key] = running
        return await asyncio.shield(running), "upstream"

    async def _load(self, key: str, url: str) -> Image:
        try:
            try:
                image = await asyncio.wait_for(self._fetch(url), self.timeout)
            except TimeoutError:
                raise UpstreamError(504, "图片请求超时") from None
        finally:
            self._loading.pop(key, None)
        self._memory_put(key, image)
        await asyncio.to_thread(self._disk_put, key, image)
        return image

    async def _fetch(self, url: str) -> Image:
        headers = {"User-Agent": DEFAULT_USER_AGENT, "Accept": "image/avif,image/webp,image/*,*/*;q=0.8"}
        if host_allowed(httpx.URL(url).raw_host.decode("ascii", "replace"), ("doubanio.com", "douban.com")):
            headers["Referer"] = DOUBAN_REFERER
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    raise UpstreamError(
                        502, f"上游返回 HTTP {response.status_code}", upstream_status=response.status_code
                    )
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > self.max_bytes:
                    raise UpstreamError(502, "图片过大")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > self.max_bytes:
                        raise UpstreamError(502, "图片过大")
        except (BlockedURL, UpstreamError):
            raise
        except httpx.TimeoutException:
            raise UpstreamError(504, "图片请求超时") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"图片请求失败: {type(exc).__name__}") from None
        content_type = sniff.image_type(bytes(body))  # from the bytes: the upstream's label is ignored
        if content_type is None:
            raise UpstreamError(502, "上游返回的不是图片")
        return Image(content_type, bytes(body), time.time())

    # -- memory --------------------------------------------------------------------------------

    def _memory_get(self, key: str) -> Image | None:
        image = self._memory.get(key)
        if image is None:
            return None
        if image.stored_at + CACHE_SECONDS < time.time():
            self._memory_size -= len(self._memory.pop(key).body)
            return None
        self._memory.move_to_end(key)
        return image

    def _memory_put(self, key: str, image: Image) -> None:
        if key in self._memory:
            self._memory_size -= len(self._memory.pop(key).body)
        self._memory[key] = image
        self._memory_size += len(image.body)
        while self._memory_size > MEMORY_BYTES and self._memory:
            _, old = self._memory.popitem(last=False)
            self._memory_size -= len(old.body)

    # -- disk: <dir>/<sha256>.img = content type, newline, bytes -----------------------------------
    # The budget counts allocated blocks (a 100-byte file still takes a 4 KiB block), so many
    # tiny images cannot fill the disk far beyond MOONTV_IMAGE_CACHE_MB.

    def _path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / key[:2] / f"{key}.img"

    def _disk_get(self, key: str) -> Image | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            stat = path.stat()
            if stat.st_mtime + CACHE_SECONDS < time.time():
                path.unlink(missing_ok=True)
                return None
            raw = path.read_bytes()
        except OSError:
            return None
        content_type, sep, body = raw.partition(b"\n")
        if not sep or content_type.decode("latin-1") not in ALLOWED_TYPES:
            return None
        return Image(content_type.decode("latin-1"), body, stat.st_mtime)

    def _disk_put(self, key: str, image: Image) -> None:
        path = self._path(key)
        if path is None or self.cache_dir is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(f".tmp{os.getpid()}")
            temp.write_bytes(image.content_type.encode("latin-1") + b"\n" + image.body)
            os.replace(temp, path)
            if self._disk_used is None:
                self._disk_used = sum(on_disk(p.stat()) for p in self.cache_dir.glob("*/*.img"))
            else:
                self._disk_used += on_disk(path.stat())
            if self._disk_used > self.disk_bytes:
                self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        assert self.cache_dir is not None
        files = []
        for path in self.cache_dir.glob("*/*.img"):
            try:
                stat = path.stat()
            except OSError:
                continue
            files.append((stat.st_mtime, on_disk(stat), path))
        files.sort()
        total = sum(size for _, size, _ in files)
        target = self.disk_bytes * 0.8
        for _, size, path in files:
            if total <= target:
                break
            path.unlink(missing_ok=True)
            total -= size
        self._disk_used = total
