"""Source validity check, every request through the SSRF-guarded client.

Per source: reachable (an HTTP answer came back), search works (a valid Apple CMS answer for the
admin's keyword, or by default for a title taken from the source's own latest list), m3u8 present (a
result has ``.m3u8`` episodes), the stream loads (that playlist and its first segment answer), latency.
Runs as a background job whose progress the admin page polls.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from moontv.sources.client import DEFAULT_USER_AGENT as USER_AGENT
from moontv.sources.client import CmsClient
from moontv.sources.models import ApiSite, SourceError
from moontv.streams import playlist as playlists

log = logging.getLogger("moontv.admin.validity")
DEFAULT_QUERY = ""  # empty: search each source for the first title of its own latest list
MAX_KEYWORD = 40
PLAYLIST_BYTES = 2 * 1024 * 1024
SEGMENT_BYTES = 64 * 1024
UNREACHABLE = frozenset({"timeout", "network", "circuit_open"})


@dataclass(slots=True)
class ProbeResult:
    key: str
    name: str
    api: str
    status: str = "pending"  # pending | ok | warn | failed
    reachable: bool | None = None
    searchWorks: bool | None = None  # wire name
    m3u8: bool | None = None
    latencyMs: int | None = None
    results: int = 0
    message: str = ""
    stream: bool | None = None  # the first m3u8 and its first segment loaded
    keyword: str = ""
    code: str = ""  # ok | no_results | no_m3u8 | search_failed | blocked | playlist_dead | ...


@dataclass(slots=True)
class ValidityJob:
    id: str
    query: str
    results: list[ProbeResult]
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    task: asyncio.Task[None] | None = None

    @property
    def done(self) -> int:
        return sum(1 for r in self.results if r.status != "pending")

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "query": self.query,
            "status": "done" if self.finished_at is not None else "running",
            "total": len(self.results),
            "done": self.done,
            "ok": sum(1 for r in self.results if r.status == "ok"),
            "failed": sum(1 for r in self.results if r.status == "failed"),
            "startedAt": int(self.started_at * 1000),
            "finishedAt": int(self.finished_at * 1000) if self.finished_at else None,
            "results": [asdict(r) for r in self.results],
        }


class ValidityChecker:
    def __init__(
        self,
        http: Callable[[], httpx.AsyncClient] | httpx.AsyncClient,
        *,
        max_bytes: int,
        timeout: float = 10.0,
        concurrency: int = 8,
        keep: int = 5,
        precheck: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._http = http
        self._precheck = precheck
        self._max_bytes = max_bytes
        self.timeout = timeout
        self._semaphore = asyncio.Semaphore(concurrency)
        self._jobs: OrderedDict[str, ValidityJob] = OrderedDict()
        self._keep = keep

    def _client(self) -> CmsClient:
        http = self._http if isinstance(self._http, httpx.AsyncClient) else self._http()
        return CmsClient(http, max_bytes=self._max_bytes)

    def running(self) -> ValidityJob | None:
        return next((j for j in self._jobs.values() if j.finished_at is None), None)

    def start(self, sites: Sequence[ApiSite], query: str = DEFAULT_QUERY) -> ValidityJob:
        """Start a check (or return the one still running)."""
        current = self.running()
        if current is not None:
            return current
        job = ValidityJob(secrets.token_urlsafe(9), query, [ProbeResult(s.key, s.name, s.api) for s in sites])
        self._jobs[job.id] = job
        while len(self._jobs) > self._keep:
            self._jobs.popitem(last=False)
        job.task = asyncio.create_task(self._run(job, list(sites)))
        return job

    def get(self, job_id: str) -> ValidityJob | None:
        return self._jobs.get(job_id)

    async def _run(self, job: ValidityJob, sites: list[ApiSite]) -> None:
        client = self._client()
        try:
            await asyncio.gather(
                *(
                    self._probe(client, site, result, job.query)
                    for site, result in zip(sites, job.results, strict=True)
                )
            )
        finally:
            job.finished_at = time.time()
            ok = sum(1 for r in job.results if r.status == "ok")
            log.info("source check %s: %d/%d ok", job.id, ok, len(job.results))

    async def _probe(self, client: CmsClient, site: ApiSite, result: ProbeResult, query: str) -> None:
        async with self._semaphore:
            if self._precheck is not None:
                try:  # names the reason when the SSRF guard refuses the address
                    await self._precheck(site.api)
                except Exception as exc:
                    result.reachable = False
                    reason = getattr(exc, "reason", None) or type(exc).__name__
                    _fail(result, "blocked", f"地址被拒绝: {reason}")
                    return
            media = self._http if isinstance(self._http, httpx.AsyncClient) else self._http()
            await probe(client, site, result, query, self.timeout, media)

    async def close(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def probe(
    client: CmsClient,
    site: ApiSite,
    result: ProbeResult,
    query: str,
    timeout: float,
    media: httpx.AsyncClient | None = None,
) -> None:
    """Search the source, then (with ``media``) load one playlist and its first segment."""
    start = time.perf_counter()
    try:
        keyword = query or await latest_title(client, site, timeout)
        result.keyword = keyword
        page = await client.search_page(site, keyword, 1, timeout=timeout, filter_adult=False)
    except SourceError as exc:
        result.latencyMs = _since(start)
        result.reachable = exc.kind not in UNREACHABLE
        _fail(result, "search_failed", exc.user_message)
        return
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the SSRF guard's refusal (BlockedURL) or a bug: reported, never raised
        result.latencyMs = _since(start)
        result.reachable = False
        reason = getattr(exc, "reason", None)
        if reason:
            _fail(result, "blocked", f"地址被拒绝: {reason}")
        else:
            _fail(result, "error", f"检测出错: {type(exc).__name__}")
        return
    result.latencyMs = _since(start)
    result.reachable = True
    result.searchWorks = True
    result.results = page.raw_count
    playable = [url for item in page.items for url in item.get("episodes") or [] if ".m3u8" in url]
    result.m3u8 = bool(playable)
    if page.raw_count == 0:
        result.status, result.code = "warn", "no_results"
        result.message = "无搜索结果" if query else "最新列表为空"
        return
    if not result.m3u8:
        result.status, result.code = "warn", "no_m3u8"
        result.message = "结果中没有 m3u8 播放地址"
        return
    if media is not None:
        problem = await check_stream(media, playable[0], timeout)
        result.stream = problem is None
        if problem is not None:
            code, message = problem
            _fail(result, code, message, searched=True)
            return
    result.status, result.code, result.message = "ok", "ok", f"{page.raw_count} 条结果"


async def latest_title(client: CmsClient, site: ApiSite, timeout: float) -> str:
    """A title the source certainly has: the first of its own latest list (``?ac=videolist``)."""
    latest = await client.search_page(site, "", 1, timeout=timeout, filter_adult=False)
    for item in latest.items:
        title = str(item.get("title") or "").strip()
        if title:
            return title[:MAX_KEYWORD]
    return ""


async def check_stream(http: httpx.AsyncClient, url: str, timeout: float) -> tuple[str, str] | None:
    """Load ``url`` (following one master-playlist hop) and the first bytes of its first segment.

    Returns None when both answer, else ``(code, message)``. Every request goes through ``http`` (the
    SSRF-guarded client) and reads at most ``PLAYLIST_BYTES`` / ``SEGMENT_BYTES``.
    """
    try:
        for _hop in range(2):
            status, body = await _fetch(http, url, PLAYLIST_BYTES, timeout)
            if status >= 400:
                return "playlist_dead", f"播放列表无法加载 (HTTP {status})"
            try:
                parsed = playlists.parse(playlists.decode(body), url)
            except playlists.PlaylistError:
                return "playlist_invalid", "播放地址返回的不是 m3u8 播放列表"
            if parsed.is_master and parsed.variants:
                url = parsed.variants[0].uri
                continue
            if not parsed.segments:
                return "playlist_invalid", "播放列表中没有分片"
            status, body = await _fetch(http, parsed.segments[0].uri, SEGMENT_BYTES, timeout)
            if status >= 400 or not body:
                return "segment_dead", f"视频分片无法加载 (HTTP {status})"
            return None
        return "playlist_invalid", "多级播放列表嵌套过深"
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        reason = getattr(exc, "reason", None)
        if reason:
            return "stream_blocked", f"播放地址被拒绝: {reason}"
        if isinstance(exc, httpx.TimeoutException):
            return "stream_timeout", "播放地址超时"
        return "stream_unreachable", f"播放地址无法连接 ({type(exc).__name__})"


async def _fetch(http: httpx.AsyncClient, url: str, limit: int, timeout: float) -> tuple[int, bytes]:
    """Status and at most ``limit`` bytes of the body (the rest is not read)."""
    async with asyncio.timeout(timeout):
        async with http.stream("GET", url, headers={"User-Agent": USER_AGENT}) as response:
            if response.status_code >= 400:
                return response.status_code, b""
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
            return response.status_code, b"".join(chunks)[:limit]


def _since(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


def _fail(result: ProbeResult, code: str, message: str, *, searched: bool = False) -> None:
    if not searched:
        result.searchWorks = False
        result.m3u8 = False
    result.status, result.code, result.message = "failed", code, message
