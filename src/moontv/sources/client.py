"""HTTP client for Apple CMS v10 sources: deadlines, size cap, error mapping, circuit breaker, metrics hook.

The transport is injected: a :class:`~moontv.sources.fetch.Fetcher` (the app uses the pooled
aiohttp one) or an ``httpx.AsyncClient`` (wrapped; its redirect policy, proxies and SSRF guard
apply). This module never follows redirects on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from moontv.sources.breaker import BreakerRegistry, CircuitBreaker
from moontv.sources.fetch import Fetcher, HttpxFetcher
from moontv.sources.models import ApiSite, SearchPage, SourceError
from moontv.sources.parse import parse_detail_html, parse_detail_page, parse_envelope, parse_search_page
from moontv.useragent import BROWSER_USER_AGENT

__all__ = [
    "DEFAULT_USER_AGENT",
    "CmsClient",
    "SourceObserver",
    "detail_page_url",
    "detail_url",
    "search_url",
]

DEFAULT_USER_AGENT = BROWSER_USER_AGENT
ACCEPT_JSON = "application/json"
ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"

# Outcomes that say the upstream itself is unhealthy (they count towards tripping the breaker).
_FAILURE_KINDS = frozenset({"timeout", "network", "parse", "too_large", "closed"})

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


class SourceObserver(Protocol):
    """Receives one call per upstream request (for metrics). ``outcome`` is ``"ok"``, a
    :class:`SourceError` kind, ``"cancelled"`` (task cancelled) or ``"error"`` (unexpected exception);
    ``seconds`` is 0 for ``circuit_open`` (no request was made)."""

    def on_request(self, source_key: str, seconds: float, outcome: str) -> None: ...


# --- URL building --------------------------------------------------------------------------------------


def _append_query(base: str, query: str) -> str:
    """MoonTV used ``api`` verbatim as a prefix; be tolerant of roots that already carry a query."""
    if base.endswith(("?", "&")):
        return base + query
    return f"{base}{'&' if '?' in base else '?'}{query}"


def search_url(api: str, query: str, page: int = 1) -> str:
    url = _append_query(api, f"ac=videolist&wd={quote(query, safe='')}")
    return url if page <= 1 else f"{url}&pg={page}"


def detail_url(api: str, vod_id: str) -> str:
    return _append_query(api, f"ac=videolist&ids={quote(str(vod_id), safe=',')}")


def detail_page_url(detail: str, vod_id: str) -> str:
    return f"{detail.rstrip('/')}/index.php/vod/detail/id/{quote(str(vod_id), safe='')}.html"


def _decode_html(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        # Chinese sites that are not UTF-8 are almost always GBK; gb18030 is its superset.
        return body.decode("gb18030", "replace")


# --- client --------------------------------------------------------------------------------------------


class CmsClient:
    """Talks to Apple CMS v10 provide APIs. Raises only :class:`SourceError` for upstream problems."""

    def __init__(
        self,
        http: httpx.AsyncClient | Fetcher,
        *,
        breakers: BreakerRegistry | None = None,
        max_bytes: int = 8 * 1024 * 1024,
        user_agent: str = DEFAULT_USER_AGENT,
        observer: SourceObserver | None = None,
        per_source: int = 4,
        total: int = 64,
    ) -> None:
        self._fetcher: Fetcher = HttpxFetcher(http) if isinstance(http, httpx.AsyncClient) else http
        self._breakers = breakers
        self._max_bytes = max_bytes
        self._user_agent = user_agent
        self._observer = observer
        self._per_source_limit = per_source
        self._per_source: dict[str, tuple[asyncio.Semaphore, int]] = {}
        self._total = asyncio.Semaphore(total)

    async def aclose(self) -> None:
        """Close the transport's pool (an injected httpx client is left to its owner)."""
        await self._fetcher.aclose()

    async def search_page(
        self, site: ApiSite, query: str, page: int, *, timeout: float, filter_adult: bool
    ) -> SearchPage:
        """One page of ``?ac=videolist&wd=``; ``SearchPage.page`` is the page that was asked for."""

        def parse(body: bytes) -> SearchPage:
            result = parse_search_page(body, site, filter_adult=filter_adult)
            result.page = max(page, 1)
            return result

        return await self._call(site.key, search_url(site.api, query, page), timeout, ACCEPT_JSON, parse)

    async def detail(self, site: ApiSite, vod_id: str, *, timeout: float) -> dict[str, Any] | None:
        """One title as a SearchResult dict (None if the source does not have it)."""
        if site.detail:
            url = detail_page_url(site.detail, vod_id)
            return await self._call(
                site.key,
                url,
                timeout,
                ACCEPT_HTML,
                lambda body: parse_detail_html(_decode_html(body), site, vod_id),
            )
        url = detail_url(site.api, vod_id)
        return await self._call(
            site.key, url, timeout, ACCEPT_JSON, lambda body: parse_detail_page(body, site)
        )

    async def fetch_json(self, url: str, *, timeout: float, source_key: str | None = None) -> dict[str, Any]:
        """The raw (normalised) envelope of any provide-API URL. With ``source_key`` the request goes
        through that source's breaker and is reported to the observer; without it, it does neither
        (admin validity checks want to probe a source even while its breaker is open)."""
        return await self._call(source_key, url, timeout, ACCEPT_JSON, parse_envelope)

    # --- internals ------------------------------------------------------------------------------------

    async def _call(
        self, key: str | None, url: str, timeout: float, accept: str, parse: Callable[[bytes], _T]
    ) -> _T:
        breaker = self._breakers.get(key) if self._breakers is not None and key else None
        if breaker is not None and not breaker.allow():
            self._observe(key, 0.0, "circuit_open")
            raise SourceError("circuit_open", f"source {key!r} is failing; skipped for now")
        started = time.perf_counter()
        outcome = "cancelled"  # stays so when the task is cancelled mid-request
        status: int | None = None
        try:
            async with self._slot(key or (urlsplit(url).hostname or ""), timeout):
                body = await self._download(url, timeout, accept)
            result = parse(body)
            outcome = "ok"
            return result
        except SourceError as exc:
            outcome, status = exc.kind, exc.status
            logger.debug("source %s: %s %s", key or url, exc.kind, exc.detail)
            raise
        except Exception:
            outcome = "error"  # a bug, not an upstream problem: let it surface unchanged
            raise
        finally:
            if breaker is not None:
                _settle(breaker, outcome, status)
            self._observe(key, time.perf_counter() - started, outcome)

    @contextlib.asynccontextmanager
    async def _slot(self, source: str, timeout: float) -> AsyncIterator[None]:
        """At most ``per_source`` requests to one source and ``total`` overall; waiting counts
        against ``timeout`` and ends as SourceError("busy") (which says nothing of the upstream)."""
        semaphore, users = self._per_source.get(source) or (asyncio.Semaphore(self._per_source_limit), 0)
        self._per_source[source] = (semaphore, users + 1)
        got_source = got_total = False
        try:
            try:
                async with asyncio.timeout(timeout):
                    await semaphore.acquire()
                    got_source = True
                    await self._total.acquire()
                    got_total = True
            except TimeoutError:
                raise SourceError("busy", "请求排队超时") from None
            yield
        finally:
            if got_total:
                self._total.release()
            if got_source:
                semaphore.release()
            semaphore, users = self._per_source[source]
            if users <= 1:
                del self._per_source[source]
            else:
                self._per_source[source] = (semaphore, users - 1)

    def _observe(self, key: str | None, seconds: float, outcome: str) -> None:
        if self._observer is None or not key:
            return
        try:
            self._observer.on_request(key, seconds, outcome)
        except Exception:
            logger.exception("source observer failed")

    async def _download(self, url: str, timeout: float, accept: str) -> bytes:
        headers = {"User-Agent": self._user_agent, "Accept": accept}
        return await self._fetcher.get(url, headers=headers, timeout=timeout, max_bytes=self._max_bytes)


def _settle(breaker: CircuitBreaker, outcome: str, status: int | None) -> None:
    if outcome == "ok":
        breaker.record_success()
    elif outcome in _FAILURE_KINDS or (outcome == "http" and status is not None and status >= 500):
        breaker.record_failure()
    else:  # cancelled, 4xx, 429: says nothing about the upstream's health
        breaker.release()
