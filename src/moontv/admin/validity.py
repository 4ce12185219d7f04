"""Source validity check: every source is searched once through the SSRF-guarded client.

Per source: reachable (an HTTP answer came back), search works (a valid Apple CMS answer),
m3u8 present (at least one result has playable ``.m3u8`` episodes), latency. Runs as a
background job whose progress the admin page polls.
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

from moontv.sources.client import CmsClient
from moontv.sources.models import ApiSite, SourceError

log = logging.getLogger("moontv.admin.validity")
DEFAULT_QUERY = "我的"
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
                    result.reachable = result.searchWorks = result.m3u8 = False
                    result.status = "failed"
                    result.message = f"地址被拒绝: {getattr(exc, 'reason', None) or type(exc).__name__}"
                    return
            await probe(client, site, result, query, self.timeout)

    async def close(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def probe(client: CmsClient, site: ApiSite, result: ProbeResult, query: str, timeout: float) -> None:
    start = time.perf_counter()
    try:
        page = await client.search_page(site, query, 1, timeout=timeout, filter_adult=False)
    except SourceError as exc:
        result.latencyMs = round((time.perf_counter() - start) * 1000)
        result.reachable = exc.kind not in UNREACHABLE
        result.searchWorks = False
        result.m3u8 = False
        result.status = "failed"
        result.message = exc.user_message
        return
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the SSRF guard's refusal (BlockedURL) or a bug: reported, never raised
        result.latencyMs = round((time.perf_counter() - start) * 1000)
        result.reachable = False
        result.searchWorks = False
        result.m3u8 = False
        result.status = "failed"
        reason = getattr(exc, "reason", None)
        result.message = f"地址被拒绝: {reason}" if reason else f"检测出错: {type(exc).__name__}"
        return
    result.latencyMs = round((time.perf_counter() - start) * 1000)
    result.reachable = True
    result.searchWorks = True
    result.results = page.raw_count
    result.m3u8 = any(item.get("episodes") for item in page.items)
    if page.raw_count == 0:
        result.status, result.message = "warn", "无搜索结果"
    elif not result.m3u8:
        result.status, result.message = "warn", "结果中没有 m3u8 播放地址"
    else:
        result.status, result.message = "ok", f"{page.raw_count} 条结果"
