"""Search across sources: page 1 first, further pages concurrently, results as events.

The service yields events in arrival order; routes render them as JSON, NDJSON or SSE. A
source never delays the others beyond its own per-request timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from moontv.search.cache import TTLCache
from moontv.search.ratelimit import SlidingWindowLimiter
from moontv.search.shared_cache import SharedPageCache
from moontv.sources.client import CmsClient
from moontv.sources.models import ApiSite, SearchPage, SourceError

NO_RESULTS = "无搜索结果"
FILTERED = "结果被过滤"


@dataclass(frozen=True, slots=True)
class SearchOptions:
    timeout: float
    max_page: int
    filter_adult: bool
    cache_ttl: float


@dataclass(slots=True)
class PageEvent:
    site: ApiSite
    page: int
    results: list[dict[str, Any]]


@dataclass(slots=True)
class FailEvent:
    site: ApiSite
    error: str


@dataclass(slots=True)
class DoneEvent:
    site: ApiSite


SearchEvent = PageEvent | FailEvent | DoneEvent


class _SourceFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class SourceOutcome:
    site: ApiSite
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """Per-user searches per minute, and upstream pages one search may ask for in total."""

    per_user_per_minute: int = 30
    page_budget: int = 100


class SearchService:
    """``cache`` is this process's page cache; ``shared`` an optional second level every replica
    sees (Redis/Kvrocks), asked on a local miss before the upstream."""

    def __init__(
        self,
        client: CmsClient,
        cache: TTLCache[SearchPage] | None = None,
        shared: SharedPageCache | None = None,
        limits: SearchLimits | None = None,
    ) -> None:
        self._client = client
        self._cache = cache
        self._shared = shared
        self.limits = limits or SearchLimits()
        self._users = SlidingWindowLimiter(self.limits.per_user_per_minute, 60.0)

    def admit(self, username: str, kind: str = "search") -> float:
        """0 when ``username`` may search now (and counts the search), else seconds to wait."""
        key = f"{kind}\n{username}"
        wait = self._users.retry_after(key)
        if wait <= 0:
            self._users.hit(key)
        return wait

    def pages_per_source(self, sources: int, max_page: int) -> int:
        """``max_page`` bounded so that all sources together stay within the page budget."""
        return max(1, min(max_page, self.limits.page_budget // max(sources, 1)))

    async def _page(self, site: ApiSite, query: str, page: int, opts: SearchOptions) -> SearchPage:
        key = (site.key, site.api, query, page, opts.filter_adult)
        if self._cache is not None:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        if self._shared is not None and opts.cache_ttl > 0:
            shared = await self._shared.get(key)
            if shared is not None:
                if self._cache is not None:
                    self._cache.put(key, shared, opts.cache_ttl)
                return shared
        result = await self._client.search_page(
            site, query, page, timeout=opts.timeout, filter_adult=opts.filter_adult
        )
        if result.raw_count > 0:
            if self._cache is not None:
                self._cache.put(key, result, opts.cache_ttl)
            if self._shared is not None:
                await self._shared.put(key, result, opts.cache_ttl)
        return result

    @staticmethod
    def _check(page: SearchPage) -> list[dict[str, Any]]:
        if page.raw_count > 0 and not page.items:
            raise _SourceFailed(FILTERED)
        return page.items

    async def source_pages(
        self, site: ApiSite, query: str, opts: SearchOptions
    ) -> AsyncIterator[tuple[int, list[dict[str, Any]]]]:
        """Yield (page number, results) for one source; raises _SourceFailed on failure."""
        try:
            first = await self._page(site, query, 1, opts)
        except SourceError as exc:
            raise _SourceFailed(exc.user_message) from None
        if first.raw_count == 0:
            raise _SourceFailed(NO_RESULTS)
        yield 1, self._check(first)
        last = min(max(first.pagecount, 1), opts.max_page)
        if last < 2:
            return
        tasks = [asyncio.ensure_future(self._page(site, query, n, opts)) for n in range(2, last + 1)]
        try:
            pages = await asyncio.gather(*tasks)
        except SourceError as exc:
            raise _SourceFailed(exc.user_message) from None
        finally:
            for task in tasks:
                task.cancel()
        for number, page in enumerate(pages, start=2):
            if page.raw_count == 0:
                continue
            yield number, self._check(page)

    async def _run_source(
        self, site: ApiSite, query: str, opts: SearchOptions, queue: asyncio.Queue[SearchEvent]
    ) -> None:
        try:
            async for number, results in self.source_pages(site, query, opts):
                await queue.put(PageEvent(site, number, results))
        except _SourceFailed as exc:
            await queue.put(FailEvent(site, exc.message))
        except Exception as exc:  # an unexpected bug in one source must not end the search
            await queue.put(FailEvent(site, str(exc) or "未知的错误"))
        finally:
            await queue.put(DoneEvent(site))

    async def stream(
        self, sites: Sequence[ApiSite], query: str, opts: SearchOptions
    ) -> AsyncIterator[SearchEvent]:
        """Events from every source in arrival order; the last event per source is DoneEvent."""
        opts = replace(opts, max_page=self.pages_per_source(len(sites), opts.max_page))
        queue: asyncio.Queue[SearchEvent] = asyncio.Queue()
        tasks = [asyncio.ensure_future(self._run_source(site, query, opts, queue)) for site in sites]
        pending = len(tasks)
        try:
            while pending:
                event = await queue.get()
                if isinstance(event, DoneEvent):
                    pending -= 1
                yield event
        finally:
            for task in tasks:
                task.cancel()

    async def collect(self, sites: Sequence[ApiSite], query: str, opts: SearchOptions) -> list[SourceOutcome]:
        """Per-source outcomes in source order; a failed source keeps no results."""
        outcomes = {site.key: SourceOutcome(site) for site in sites}
        pages: dict[str, list[tuple[int, list[dict[str, Any]]]]] = {site.key: [] for site in sites}
        async for event in self.stream(sites, query, opts):
            if isinstance(event, PageEvent):
                pages[event.site.key].append((event.page, event.results))
            elif isinstance(event, FailEvent):
                outcomes[event.site.key].error = event.error
        for key, outcome in outcomes.items():
            if outcome.error is None:
                for _, results in sorted(pages[key], key=lambda p: p[0]):
                    outcome.results.extend(results)
        return list(outcomes.values())

    async def all_pages(self, site: ApiSite, query: str, opts: SearchOptions) -> list[dict[str, Any]]:
        """Every result of one source, pages in order; raises SourceFailed like source_pages."""
        results: list[dict[str, Any]] = []
        async for _, page in self.source_pages(site, query, opts):
            results.extend(page)
        return results


SourceFailed = _SourceFailed
