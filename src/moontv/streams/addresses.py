"""Address rules of the SSRF guard that need no network library: which IP addresses are public, what a
numeric host spelling is, and the operator's allow-list (``MOONTV_ALLOW_PRIVATE_UPSTREAMS``) parsing.

Kept apart from ``moontv.streams.netguard`` so settings validation does not import the HTTP client.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?")


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
