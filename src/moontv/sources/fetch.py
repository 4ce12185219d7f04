"""How the CMS client downloads one URL: a deadline, a size cap, errors mapped to SourceError.

Two interchangeable fetchers. ``AiohttpFetcher`` is the app's default for the search fan-out: on
this workload it spends about a tenth of httpx's CPU per request (measured with
scripts/bench_core.py; httpcore's pool bookkeeping dominated the profile). ``HttpxFetcher`` wraps
an injected ``httpx.AsyncClient`` for callers that need httpx features, e.g. the SSRF-guarded
client used for admin-entered URLs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from moontv.sources.models import SourceError
from moontv.streams.netguard import BlockedURL, NetGuard

if TYPE_CHECKING:
    import aiohttp

READ_CHUNK = 64 * 1024


class Fetcher(Protocol):
    async def aclose(self) -> None: ...

    async def get(self, url: str, *, headers: dict[str, str], timeout: float, max_bytes: int) -> bytes:
        """The whole body of a 2xx answer, or SourceError (timeout/network/http/rate_limited/too_large)."""


def check_status(status: int) -> None:
    if status == 429:
        raise SourceError("rate_limited", "HTTP 429", status=status)
    if not 200 <= status < 300:
        raise SourceError("http", f"HTTP {status}", status=status)


def check_declared_length(declared: str | None, max_bytes: int) -> None:
    declared = declared or ""
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > max_bytes):
        raise SourceError("too_large", f"declared body of {declared[:20]} bytes is over the cap")


def _timeout_error(timeout: float) -> SourceError:
    return SourceError("timeout", f"no complete answer within {timeout:g}s")


class AiohttpFetcher:
    """One pooled aiohttp session for every source (keep-alive per origin, no cookie jar).

    With a ``guard`` (the app always passes one) every connection goes through the SSRF guard:
    host names are resolved by the guard, which refuses private/reserved addresses, and the
    connection goes to the checked address; redirects are followed here, hop by hop, each hop's
    URL checked again (IP-literal hosts included, which never reach a resolver).
    """

    def __init__(
        self,
        *,
        max_connections: int = 256,
        per_host: int = 32,
        max_redirects: int = 3,
        guard: NetGuard | None = None,
    ) -> None:
        self._max_redirects = max_redirects
        self._guard = guard
        self._connector_args: dict[str, Any] = {
            "limit": max_connections,
            "limit_per_host": per_host,
            "keepalive_timeout": 30,
            "ttl_dns_cache": 300,
        }
        self._session: aiohttp.ClientSession | None = None

    @staticmethod
    def _lib() -> ModuleType:
        # Imported on the first upstream request: aiohttp costs ~0.1 s and ~10 MB, which a server
        # that has not searched yet (cold start, health checks) need not pay.
        import aiohttp

        return aiohttp

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily inside the running loop (aiohttp binds the session to it).
        aiohttp = self._lib()
        if self._session is None or self._session.closed:
            args = dict(self._connector_args)
            if self._guard is not None:
                args["resolver"] = _guarded_resolver(self._guard)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(**args),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=True,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _check_hop(self, url: str) -> None:
        if self._guard is None:
            return
        parsed = self._guard.check_syntax(url)
        host = parsed.raw_host.decode("ascii", "replace")
        if _is_ip_literal(host):  # names are checked (and pinned) by the guarded resolver
            await self._guard.resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))

    async def get(self, url: str, *, headers: dict[str, str], timeout: float, max_bytes: int) -> bytes:
        aiohttp = self._lib()
        from yarl import URL

        # Send the URL exactly as built (it is already percent-encoded) unless it has raw non-ASCII.
        target = URL(url, encoded=True) if url.isascii() else URL(url)
        try:
            async with asyncio.timeout(timeout):
                for _ in range(self._max_redirects + 1):
                    await self._check_hop(str(target))
                    async with self._client().get(
                        target,
                        headers=headers,
                        allow_redirects=False,
                        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
                    ) as response:
                        location = response.headers.get("Location")
                        if response.status in REDIRECTS and location:
                            target = response.url.join(URL(location))
                            continue
                        check_status(response.status)
                        check_declared_length(response.headers.get("Content-Length"), max_bytes)
                        body = bytearray()
                        async for chunk in response.content.iter_chunked(READ_CHUNK):
                            body += chunk
                            if len(body) > max_bytes:
                                raise SourceError("too_large", f"body is over the {max_bytes} byte cap")
                        return bytes(body)
                raise SourceError("http", "too many redirects")
        except TimeoutError:
            raise _timeout_error(timeout) from None
        except BlockedURL:
            raise SourceError("blocked", "destination not allowed") from None
        except (aiohttp.InvalidURL, ValueError) as exc:
            raise SourceError("network", f"invalid upstream URL ({type(exc).__name__})") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise SourceError("network", type(exc).__name__) from None


REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _guarded_resolver(guard: NetGuard) -> Any:
    """An aiohttp resolver that only returns addresses the guard allows (raises BlockedURL)."""
    from aiohttp.abc import AbstractResolver

    class GuardedResolver(AbstractResolver):
        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[Any]:
            addresses = await guard.resolve(host, port)
            return [
                {
                    "hostname": host,
                    "host": address,
                    "port": port,
                    "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
                for address in addresses
            ]

        async def close(self) -> None:
            return None

    return GuardedResolver()


class HttpxFetcher:
    """Downloads through an injected httpx client (its redirect policy, proxies and guards apply)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def aclose(self) -> None:
        """The injected client belongs to the caller."""

    async def get(self, url: str, *, headers: dict[str, str], timeout: float, max_bytes: int) -> bytes:
        try:
            # asyncio.timeout bounds connect + headers + the whole body; httpx's own timeouts only
            # bound each single network operation.
            async with (
                asyncio.timeout(timeout),
                self._http.stream("GET", url, headers=headers, timeout=httpx.Timeout(timeout)) as response,
            ):
                check_status(response.status_code)
                check_declared_length(response.headers.get("content-length"), max_bytes)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise SourceError("too_large", f"body is over the {max_bytes} byte cap")
                return bytes(body)
        except (TimeoutError, httpx.TimeoutException):
            raise _timeout_error(timeout) from None
        except BlockedURL:
            raise SourceError("blocked", "destination not allowed") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise SourceError("network", f"invalid upstream URL ({type(exc).__name__})") from None
        except (httpx.HTTPError, OSError) as exc:
            raise SourceError("network", type(exc).__name__) from None
