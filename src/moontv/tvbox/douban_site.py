"""Detail answers of the TVBox Douban façade: a Douban card resolved to the user's own sources.

A façade card's ``vod_id`` carries the Douban id, the title and the year (``<id>.<base64url title>.<year>``),
so a detail lookup needs no server-side memory: the title is searched on the user's sources (first
page only), and every source with a same-titled result becomes one play line (``vod_play_from`` /
``vod_play_url``), same-year results first.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from moontv.search.service import SearchOptions, SearchService
from moontv.sources.models import ApiSite

MAX_IDS = 3  # ids resolved per request (TVBox asks for one; "home recommendations" join several)
MAX_SOURCES = 8  # play lines per title
MAX_TITLE = 100
NOT_FOUND = "没有在你的视频源里找到这部作品。"


@dataclass(frozen=True, slots=True)
class DoubanRef:
    douban_id: str
    title: str
    year: str


def encode_ref(douban_id: str, title: str, year: str) -> str:
    packed = base64.urlsafe_b64encode(title[:MAX_TITLE].encode()).rstrip(b"=").decode("ascii")
    year = year if len(year) == 4 and year.isdigit() else ""
    return f"{douban_id}.{packed}.{year}"


def decode_ref(raw: str) -> DoubanRef | None:
    parts = raw.strip().split(".")
    if len(raw) > 600 or len(parts) != 3:
        return None
    douban_id, packed, year = parts
    if not (douban_id.isdigit() and len(douban_id) <= 12):
        return None
    try:
        title = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        return None
    return DoubanRef(douban_id, title, year if len(year) == 4 and year.isdigit() else "")


def decode_ids(raw: str) -> list[DoubanRef]:
    refs = [decode_ref(part) for part in raw.split(",")[:MAX_IDS] if part.strip()]
    return [ref for ref in refs if ref is not None]


def _norm(title: Any) -> str:
    return "".join(str(title or "").split()).lower()


def pick_matches(results: Sequence[dict[str, Any]], ref: DoubanRef) -> list[dict[str, Any]]:
    """Per source the result titled like the Douban card (a same-year one wins), same-year sources first."""
    wanted = _norm(ref.title)
    best: dict[str, dict[str, Any]] = {}
    for result in results:
        if _norm(result.get("title")) != wanted or not result.get("episodes"):
            continue
        source = str(result.get("source") or "")
        current = best.get(source)
        if current is None or (
            ref.year and result.get("year") == ref.year and current.get("year") != ref.year
        ):
            best[source] = result
    matches = list(best.values())
    if ref.year:
        matches.sort(key=lambda r: r.get("year") != ref.year)
    return matches[:MAX_SOURCES]


def _plain(text: Any) -> str:
    """Text safe inside the ``name$url#name$url$$$…`` play string."""
    return " ".join(str(text or "").replace("$", " ").replace("#", " ").split())


def detail_vod(
    ref: DoubanRef,
    matches: Sequence[dict[str, Any]],
    rewrite: Callable[[str, str], str] | None = None,
) -> dict[str, Any]:
    """One Apple CMS ``list`` item; ``rewrite(source_key, url)`` may reroute playlist URLs."""
    vod: dict[str, Any] = {
        "vod_id": encode_ref(ref.douban_id, ref.title, ref.year),
        "vod_name": ref.title,
        "vod_year": ref.year,
        "vod_pic": "",
        "type_name": "",
        "vod_remarks": "未找到",
        "vod_content": NOT_FOUND,
        "vod_douban_id": ref.douban_id,
    }
    flags: list[str] = []
    lines: list[str] = []
    for match in matches:
        titles = match.get("episodes_titles") or []
        episodes = []
        for index, url in enumerate(match.get("episodes") or []):
            if not isinstance(url, str) or not url or "$" in url or "#" in url:
                continue
            name = _plain(titles[index]) if index < len(titles) else ""
            target = rewrite(str(match.get("source") or ""), url) if rewrite else url
            episodes.append(f"{name or f'第{index + 1}集'}${target}")
        if not episodes:
            continue
        flag = _plain(match.get("source_name")) or _plain(match.get("source")) or f"线路{len(flags) + 1}"
        if flag in flags:
            flag = f"{flag}-{_plain(match.get('source'))}"
        flags.append(flag)
        lines.append("#".join(episodes))
    if flags:
        first = matches[0]
        vod.update(
            vod_pic=str(first.get("poster") or ""),
            type_name=str(first.get("type_name") or ""),
            vod_remarks=f"{len(flags)} 个来源",
            vod_content=str(first.get("desc") or ""),
            vod_play_from="$$$".join(flags),
            vod_play_url="$$$".join(lines),
        )
    return vod


async def resolve(
    search: SearchService, sites: Sequence[ApiSite], refs: Sequence[DoubanRef], opts: SearchOptions
) -> list[tuple[DoubanRef, list[dict[str, Any]]]]:
    """Each ref with its matches; every source is asked once per title, failures count as no match."""

    async def one(ref: DoubanRef) -> tuple[DoubanRef, list[dict[str, Any]]]:
        outcomes = await search.collect(sites, ref.title, opts)
        results = [result for outcome in outcomes for result in outcome.results]
        return ref, pick_matches(results, ref)

    if not sites:
        return [(ref, []) for ref in refs]
    return list(await asyncio.gather(*(one(ref) for ref in refs)))
