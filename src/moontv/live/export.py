"""Live sources for the TV apps: TVBox ``lives`` entries and an M3U export of one source."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from moontv.live.playlist import Channel, ParsedPlaylist
from moontv.live.service import LiveSource


def tvbox_lives(base: str, token: str, sources: Iterable[LiveSource]) -> list[dict[str, Any]]:
    """One entry per live source, served by us at a token-gated URL (the upstream URL and UA stay
    on the server; TVBox gets every URL including rtmp/udp/p2p)."""
    out = []
    for source in sources:
        entry: dict[str, Any] = {
            "name": source.name,
            "type": 0,
            "url": f"{base}/api/tvbox/s/{quote(token, safe='')}/live/{quote(source.key, safe='')}",
            "ua": source.user_agent,
        }
        epg = source.epg.split(",")[0].strip() if source.epg else ""
        if epg:
            entry["epg"] = epg
        out.append(entry)
    return out


def _attr(value: str) -> str:
    return value.replace('"', "'").replace("\n", " ").replace("\r", " ")


def m3u_export(parsed: ParsedPlaylist, urls_of: Callable[[Channel], list[str]], epg_urls: list[str]) -> str:
    """M3U with tvg attributes; a channel's alternatives repeat its ``#EXTINF`` (best first)."""
    head = "#EXTM3U"
    if epg_urls:
        head += f' x-tvg-url="{_attr(",".join(epg_urls))}"'
    lines = [head]
    for channel in parsed.channels:
        attrs = f'tvg-id="{_attr(channel.tvg_id)}" tvg-name="{_attr(channel.tvg_name or channel.name)}"'
        if channel.logo:
            attrs += f' tvg-logo="{_attr(channel.logo)}"'
        attrs += f' group-title="{_attr(channel.group)}"'
        for name, value in channel.catchup.items():
            attrs += f' {name}="{_attr(value)}"'
        for url in urls_of(channel):
            lines.append(f"#EXTINF:-1 {attrs},{channel.name}")
            lines.append(url)
    return "\n".join(lines) + "\n"
