"""SSRF guard for every server-side fetch of a URL that a user (or an upstream) chose.

Rules, checked before a request and again on every connection the HTTP client opens
(each redirect hop included):

- scheme ``http`` or ``https`` only, a host is required, no ``user:password@``;
- a numeric host must be a canonical dotted quad or an IPv6 literal (``2130706433``,
  ``0x7f.1``, ``0177.0.0.1`` and similar spellings are refused outright);
- the host is resolved and *every* address must be public: loopback, private, link-local,
  multicast, reserved, unspecified, shared (CGNAT) and documentation ranges are refused,
  also when wrapped in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, Teredo, NAT64);
- the connection then goes to the address that was checked (the client never resolves the
  name a second time, so a DNS answer cannot change between the check and the connect);
  TLS still uses the host name for SNI and certificate checks, and ``Host`` is unchanged.

Operators with CMS or stream hosts on their own LAN can allow them explicitly with
``MOONTV_ALLOW_PRIVATE_UPSTREAMS`` (CIDRs such as ``192.168.1.0/24`` or host names, each with
an optional ``:port`` that limits it to that port: ``nas.lan:8080``, ``192.168.1.5:80``); the
default is empty. A refused destination fails before any connection is attempted, so the
answer is the same whether the port is open, closed or speaks HTTP.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from moontv.errors import RefusedDestination
from moontv.streams.addresses import (  # noqa: F401 - re-exported
    _HOST_NAME,
    _NAT64,
    _NAT64_LOCAL,
    _NUMERIC_LABEL,
    AllowedHost,
    AllowedNet,
    IPAddress,
    IPNetwork,
    _literal_ip,
    _odd_numeric,
    _split_port,
    _strip_brackets,
    blocked_ip_reason,
    host_allowed,
    parse_allow_list,
)

__all__ = [
    "BlockedURL",
    "NetGuard",
    "check_url",
    "guarded_client",
    "host_allowed",
    "parse_allow_list",
]

Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedURL(httpx.RequestError, RefusedDestination):
    """A URL (or a redirect hop) the guard refused; ``reason`` says why, in English, for logs.

    It is an ``httpx.RequestError``, so code that treats network failures generically also
    treats a refused destination as a failed fetch (never as a success).
    """

    def __init__(self, reason: str, url: str = "") -> None:
        super().__init__(f"blocked: {reason}")
        self.reason = reason
        self.url = url


async def _system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return seen


class NetGuard:
    """The policy plus the resolver. One per app (``AppState.netguard``)."""

    def __init__(
        self,
        allow_private: str | Iterable[str] = (),
        *,
        resolver: Resolver | None = None,
        resolve_timeout: float = 5.0,
    ) -> None:
        self.allow_nets, self.allow_hosts = parse_allow_list(allow_private)
        self.resolver: Resolver = resolver or _system_resolver
        self.resolve_timeout = resolve_timeout
        # What opens TCP connections to the checked addresses (a test seam: tests put a fake
        # "internet" here; the checks above it stay the same).
        self.connector: httpcore.AsyncNetworkBackend = httpcore.AnyIOBackend()

    def _private_allowed(self, host: str, ip: IPAddress, port: int) -> bool:
        if ip.is_multicast or ip.is_unspecified:
            return False
        if (host, None) in self.allow_hosts or (host, port) in self.allow_hosts:
            return True
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(
            c.version == net.version and c in net and allowed in (None, port)
            for c in candidates
            for net, allowed in self.allow_nets
        )

    def check_syntax(self, url: httpx.URL | str, allow_hosts: Iterable[str] | None = None) -> httpx.URL:
        """Everything that can be decided without DNS. Returns the parsed URL."""
        text = str(url)
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(text)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise BlockedURL("malformed URL", text) from None
        if parsed.scheme not in ALLOWED_SCHEMES:
            raise BlockedURL(f"scheme {parsed.scheme or '(none)'!r} is not allowed", text)
        host = parsed.raw_host.decode("ascii", "replace").lower()
        if not host:
            raise BlockedURL("no host", text)
        if parsed.userinfo:
            raise BlockedURL("credentials in URL", text)
        if _literal_ip(host) is None:
            if _odd_numeric(host):
                raise BlockedURL(f"non-canonical numeric host {host!r}", text)
            if not _HOST_NAME.fullmatch(host):
                raise BlockedURL(f"invalid host {host!r}", text)
        if allow_hosts is not None and not host_allowed(host, allow_hosts):
            raise BlockedURL(f"host {host!r} is not on the allow-list", text)
        return parsed

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address of ``host``, each one checked; raises BlockedURL if any is refused."""
        host = _strip_brackets(host.lower()).rstrip(".")
        literal = _literal_ip(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            if _odd_numeric(host):
                raise BlockedURL(f"non-canonical numeric host {host!r}")
            try:
                addresses = await asyncio.wait_for(self.resolver(host, port), self.resolve_timeout)
            except TimeoutError:
                raise BlockedURL(f"DNS lookup of {host!r} timed out") from None
            except OSError as exc:
                raise BlockedURL(f"DNS lookup of {host!r} failed: {exc.strerror or exc}") from None
            if not addresses:
                raise BlockedURL(f"{host!r} has no address")
        for address in addresses:
            ip = _literal_ip(address.split("%", 1)[0]) if "%" in address else _literal_ip(address)
            if ip is None:
                raise BlockedURL(f"{host!r} resolved to an unparsable address {address!r}")
            reason = blocked_ip_reason(ip)
            if reason is not None and not self._private_allowed(host, ip, port):
                raise BlockedURL(f"{host!r} resolves to {reason}")
        return addresses

    async def check_url(self, url: str | httpx.URL, *, allow_hosts: Iterable[str] | None = None) -> None:
        parsed = self.check_syntax(url, allow_hosts)
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        try:
            await self.resolve(parsed.raw_host.decode("ascii", "replace"), port)
        except BlockedURL as exc:
            exc.url = str(url)
            raise

    def client(
        self,
        *,
        timeout: float | httpx.Timeout,
        max_redirects: int = 3,
        allow_hosts: Iterable[str] | None = None,
        limits: httpx.Limits | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.AsyncClient:
        transport = GuardedTransport(
            self,
            allow_hosts=tuple(allow_hosts) if allow_hosts is not None else None,
            limits=limits or httpx.Limits(max_connections=128, max_keepalive_connections=32),
        )
        return httpx.AsyncClient(
            transport=transport,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            follow_redirects=max_redirects > 0,
            max_redirects=max(max_redirects, 0),
            trust_env=False,
            headers=headers,
        )


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host itself, then connects to the checked address (pinning)."""

    def __init__(self, guard: NetGuard) -> None:
        self.guard = guard

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.guard.resolve(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.guard.connector.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedURL("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self.guard.connector.sleep(seconds)


@functools.cache
def _verifying_ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs tens of ms; every guarded client shares one verifying context."""
    return httpx.create_ssl_context(verify=True, trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose every connection goes through the guard (no proxies, no env)."""

    def __init__(
        self,
        guard: NetGuard,
        *,
        allow_hosts: tuple[str, ...] | None = None,
        limits: httpx.Limits,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        ssl_context = (
            _verifying_ssl_context()
            if verify is True
            else httpx.create_ssl_context(verify=verify, trust_env=False)
        )
        super().__init__(trust_env=False, limits=limits, verify=ssl_context)
        self.guard = guard
        self.allow_hosts = allow_hosts
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(guard),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            self.guard.check_syntax(request.url, self.allow_hosts)
        except BlockedURL as exc:
            exc.request = request
            raise
        try:
            return await super().handle_async_request(request)
        except BlockedURL as exc:
            exc.url = str(request.url)
            exc.request = request
            raise


_default_guard: NetGuard | None = None


def _guard(guard: NetGuard | None) -> NetGuard:
    global _default_guard
    if guard is not None:
        return guard
    if _default_guard is None:
        _default_guard = NetGuard()
    return _default_guard


async def check_url(
    url: str, *, guard: NetGuard | None = None, allow_hosts: Iterable[str] | None = None
) -> None:
    """Raise BlockedURL unless ``url`` is an http(s) URL whose host resolves only to allowed addresses.

    Without ``guard`` the strict policy applies (no private exceptions); pass ``state.netguard`` to
    honour ``MOONTV_ALLOW_PRIVATE_UPSTREAMS``.
    """
    await _guard(guard).check_url(url, allow_hosts=allow_hosts)


def guarded_client(
    *,
    timeout: float | httpx.Timeout,
    max_redirects: int = 3,
    allow_hosts: Iterable[str] | None = None,
    guard: NetGuard | None = None,
    allow_private: str | Iterable[str] = (),
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient that checks and pins every connection, redirect hops included.

    ``allow_hosts`` restricts hosts (suffix match, ``*`` = any); ``guard`` (e.g. ``state.netguard``)
    or ``allow_private`` sets the private-address exceptions.
    """
    chosen = guard if guard is not None else (NetGuard(allow_private) if allow_private else _guard(None))
    return chosen.client(
        timeout=timeout, max_redirects=max_redirects, allow_hosts=allow_hosts, headers=headers
    )
