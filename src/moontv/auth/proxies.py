"""Which peers may speak for the client through ``X-Forwarded-For/-Proto/-Host``.

Forwarded headers are believed only when the TCP peer is a configured proxy
(``MOONTV_TRUSTED_PROXIES``: CIDRs or addresses). The default is nobody: a server reached
directly ignores them, so a client cannot pick its own address (login throttling) or host
(TVBox links, CSRF origin checks). ``MOONTV_TRUST_PROXY=true`` without a list is the old
switch, narrowed to peers on loopback or private networks (a proxy on the same host, the
compose network, a pod network); a public peer is never trusted through it.
"""

from __future__ import annotations

import functools
import ipaddress
import re

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_LOCAL_NETS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """``"10.0.0.0/8, 172.18.0.1"`` -> networks. Raises ValueError naming a bad entry."""
    nets: list[IPNetwork] = []
    for raw in re.split(r"[\s,;]+", value.strip()):
        if not raw:
            continue
        try:
            nets.append(ipaddress.ip_network(raw.strip("[]"), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR: {raw!r}") from None
    return tuple(nets)


class TrustedProxies:
    def __init__(self, networks: tuple[IPNetwork, ...]) -> None:
        self.networks = networks

    def trusts(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address: the right-most X-Forwarded-For hop that is not a trusted proxy."""
        address = peer or "unknown"
        if not forwarded_for or not self.trusts(peer):
            return address
        for hop in reversed([h.strip() for h in forwarded_for.split(",")][-20:]):
            if not hop:
                continue
            try:
                ipaddress.ip_address(hop.strip("[]"))
            except ValueError:
                return address  # junk in the chain: stop at the last hop we could vouch for
            address = hop.strip("[]")
            if not self.trusts(address):
                return address
        return address

    def forwarded(self, peer: str | None, value: str | None) -> str | None:
        """The first entry of a forwarded header (``X-Forwarded-Proto``/``-Host``) from a trusted peer."""
        if not value or not self.trusts(peer):
            return None
        first = value.split(",")[0].strip()
        return first[:255] or None


@functools.lru_cache(maxsize=8)
def trusted_proxies(networks: str, legacy_trust_proxy: bool) -> TrustedProxies:
    parsed = parse_networks(networks)
    if not parsed and legacy_trust_proxy:
        parsed = _LOCAL_NETS
    return TrustedProxies(parsed)
