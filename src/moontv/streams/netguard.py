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
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

__all__ = [
    "BlockedURL",
    "NetGuard",
    "check_url",
    "guarded_client",
    "host_allowed",
    "parse_allow_list",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?")


class BlockedURL(httpx.RequestError):
    """A URL (or a redirect hop) the guard refused; ``reason`` says why, in English, for logs.

    It is an ``httpx.RequestError``, so code that treats network failures generically also
    treats a refused destination as a failed fetch (never as a success).
    """

    def __init__(self, reason: str, url: str = "") -> None:
        super().__init__(f"blocked: {reason}")
        self.reason = reason
        self.url = url


def _strip_brackets(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(_strip_brackets(host))
    except ValueError:
        return None


def _odd_numeric(host: str) -> bool:
    """True for hosts that only numeric-IP parsers accept (decimal, octal, hex, short forms)."""
    labels = host.rstrip(".").split(".")
    return bool(labels) and all(_NUMERIC_LABEL.fullmatch(label) for label in labels)


def blocked_ip_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (None when it is)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "scoped IPv6 address"
        embedded: ipaddress.IPv4Address | None = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is None and (ip in _NAT64 or ip in _NAT64_LOCAL):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = blocked_ip_reason(embedded)
            if inner is not None:
                return f"{inner} (embedded in IPv6)"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address {ip}"
    if not ip.is_global:
        return f"non-public address {ip}"
    return None


AllowedNet = tuple[IPNetwork, int | None]
AllowedHost = tuple[str, int | None]


def _split_port(item: str) -> tuple[str, int | None]:
    """``host:port``, ``1.2.3.4:80``, ``[fd00::1]:8080`` -> (host, port); no port -> None."""
    if item.startswith("[") and "]:" in item:
        host, _, port = item[1:].partition("]:")
    elif item.count(":") == 1:
        host, _, port = item.partition(":")
    else:
        return _strip_brackets(item), None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not a port: {port!r}")
    return host, int(port)


def parse_allow_list(
    value: str | Iterable[str],
) -> tuple[tuple[AllowedNet, ...], frozenset[AllowedHost]]:
    """``"10.0.0.0/8, cms.lan, nas.lan:8080"`` -> ((network, port), ...), {(host, port)}.

    A port limits the entry to that port (``None``: every port). Raises ValueError on junk.
    """
    items = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value)
    nets: list[AllowedNet] = []
    hosts: set[AllowedHost] = set()
    for raw in items:
        item = raw.strip().lower()
        if not item:
            continue
        try:
            host, port = _split_port(item)
        except ValueError:
            raise ValueError(f"not a CIDR or host name (with an optional :port): {raw!r}") from None
        try:
            nets.append((ipaddress.ip_network(host, strict=False), port))
            continue
        except ValueError:
            pass
        name = host.rstrip(".")
        if not _HOST_NAME.fullmatch(name) or _odd_numeric(name):
            raise ValueError(f"not a CIDR or host name (with an optional :port): {raw!r}")
        hosts.add((name, port))
    return tuple(nets), frozenset(hosts)


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Suffix match on label boundaries: ``doubanio.com`` allows ``img1.doubanio.com``; ``*`` allows all."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.strip().lower().lstrip("*").lstrip(".").rstrip(".")
        if not pattern:
            return True
        if host == pattern or host.endswith("." + pattern):
            return True
    return False


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
        super().__init__(trust_env=False, limits=limits, verify=verify)
        self.guard = guard
        self.allow_hosts = allow_hosts
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
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
