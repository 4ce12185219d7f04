"""The TVBox config JSON, the Douban category façade and the filtering CMS proxy's rules.

TVBox site entries (type 1 = Apple CMS JSON) use only the documented field set:
``key, name, type, api, searchable, quickSearch, filterable, ext``.

The original TVBox reads ``parses``, ``ads`` and ``ijk`` without a guard (a missing one fails the whole
config), and later picks ``ijk[0]`` when it plays with IJK, so the config always carries all three and
``ijk`` is never empty.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from moontv.config.view import CategoryEntry
from moontv.sources.models import ApiSite
from moontv.sources.parse import is_adult
from moontv.tvbox.douban_site import encode_ref

SITE_FIELDS = ("key", "name", "type", "api", "searchable", "quickSearch", "filterable", "ext")
FILTERS = ("adult", "ads")
CMS_QUERY_PARAMS = ("ac", "t", "pg", "wd", "ids", "h", "at", "limit")


def parse_filters(raw: str | None) -> tuple[str, ...]:
    """``"adult,ads"`` -> ("adult", "ads") in canonical order; unknown names are a ValueError."""
    if not raw or raw == "none":
        return ()
    names = {part.strip() for part in raw.replace("+", ",").split(",") if part.strip()}
    unknown = names - set(FILTERS)
    if unknown:
        raise ValueError(", ".join(sorted(unknown)))
    return tuple(f for f in FILTERS if f in names)


def filters_segment(filters: tuple[str, ...]) -> str:
    return "+".join(filters) if filters else "none"


# IJK player option groups: (category, option name, value); category 1 = format, 2 = codec, 4 = player.
_IJK_COMMON: tuple[tuple[int, str, str], ...] = (
    (4, "opensles", "0"),
    (4, "framedrop", "1"),
    (4, "start-on-prepared", "1"),
    (4, "reconnect", "1"),
    (1, "fflags", "fastseek"),
    (1, "dns_cache_timeout", "600000000"),
    (2, "skip_loop_filter", "48"),
)
_IJK_DECODERS = (("硬解码", "1"), ("软解码", "0"))


def ijk_groups() -> list[dict[str, Any]]:
    """Hardware decoding first (TVBox selects the first group when the user has not chosen one)."""
    groups = []
    for name, mediacodec in _IJK_DECODERS:
        options = [{"category": c, "name": n, "value": v} for c, n, v in _IJK_COMMON]
        options += [
            {"category": 4, "name": "mediacodec", "value": mediacodec},
            {"category": 4, "name": "mediacodec-auto-rotate", "value": mediacodec},
            {"category": 4, "name": "mediacodec-handle-resolution-change", "value": mediacodec},
            {"category": 4, "name": "mediacodec-hevc", "value": mediacodec},
        ]
        groups.append({"group": name, "options": options})
    return groups


def build_config(
    origin: str, token: str, sites: list[ApiSite], *, filters: tuple[str, ...] = ()
) -> dict[str, Any]:
    base = f"{origin}/api/tvbox/s/{quote(token, safe='')}"
    facade = f"{base}/categories/{filters_segment(filters)}" if filters else f"{base}/categories"
    entries: list[dict[str, Any]] = [
        {
            "key": "douban_custom",
            "name": "豆瓣｜自定义",
            "type": 1,
            "api": facade,
            "searchable": 0,
            "quickSearch": 0,
            "filterable": 0,
            "ext": "",
        }
    ]
    for site in sites:
        proxied = bool(filters)
        entries.append(
            {
                "key": site.key,
                "name": site.name,
                "type": 1,
                "api": f"{base}/cms/{filters_segment(filters)}/{quote(site.key, safe='')}"
                if proxied
                else site.api,
                "searchable": 1,
                "quickSearch": 1,
                "filterable": 1,
                "ext": "" if proxied else (site.detail or ""),
            }
        )
    return {"sites": entries, "parses": [], "flags": [], "lives": [], "ads": [], "ijk": ijk_groups()}


# -- categories façade ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    kind: str  # movie | tv
    params: dict[str, str]


BUILTIN_CATEGORIES: tuple[Category, ...] = (
    Category("电影·热门", "movie", {"sort": "U"}),
    Category("电影·最新", "movie", {"sort": "R", "year": "@current"}),
    Category("电影·经典", "movie", {"label": "经典"}),
    Category("电影·豆瓣高分", "movie", {"sort": "S"}),
    Category("剧集·热门", "tv", {"sort": "U"}),
    Category("剧集·美剧", "tv", {"region": "美国"}),
    Category("剧集·英剧", "tv", {"region": "英国"}),
    Category("剧集·韩剧", "tv", {"region": "韩国"}),
    Category("剧集·日剧", "tv", {"region": "日本"}),
    Category("剧集·国产剧", "tv", {"region": "中国大陆"}),
    Category("剧集·日本动画", "tv", {"category": "动画", "region": "日本"}),
)


def categories(custom: Sequence[CategoryEntry]) -> list[Category]:
    out = list(BUILTIN_CATEGORIES)
    for entry in custom:
        if entry.disabled or not entry.query:
            continue
        kind = "movie" if entry.type == "movie" else "tv"
        out.append(Category(entry.name or entry.query, kind, {"label": entry.query}))
    return out


def class_list(cats: list[Category]) -> list[dict[str, Any]]:
    return [{"type_id": i, "type_name": c.name} for i, c in enumerate(cats, start=1)]


def recommend_params(cat: Category, wd: str | None, now: datetime.date | None = None) -> dict[str, str]:
    params = dict(cat.params)
    if params.get("year") == "@current":
        params["year"] = str((now or datetime.date.today()).year)
    if wd:
        params["label"] = wd
    return params


def vod_list(cards: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {
            "vod_id": encode_ref(c["id"], c["title"], c["year"]),
            "vod_name": c["title"],
            "vod_pic": c["poster"],
            "vod_year": c["year"],
            "vod_remarks": c["rate"],
        }
        for c in cards
    ]


# -- CMS proxy filtering ----------------------------------------------------------------------------


def filter_envelope(
    envelope: dict[str, Any], filters: tuple[str, ...], rewrite_playlist: Callable[[str], str] | None = None
) -> dict[str, Any]:
    out = dict(envelope)
    if "adult" in filters:
        out["list"] = [item for item in out.get("list") or [] if not is_adult(item.get("type_name"))]
        if isinstance(out.get("class"), list):
            out["class"] = [
                c for c in out["class"] if not (isinstance(c, dict) and is_adult(c.get("type_name")))
            ]
    if "ads" in filters and rewrite_playlist is not None:
        out["list"] = [_rewrite_play_urls(item, rewrite_playlist) for item in out.get("list") or []]
    return out


def _rewrite_play_urls(item: dict[str, Any], rewrite: Callable[[str], str]) -> dict[str, Any]:
    play = item.get("vod_play_url")
    if not isinstance(play, str) or not play:
        return item
    groups = []
    for group in play.split("$$$"):
        episodes = []
        for episode in group.split("#"):
            title, sep, url = episode.partition("$")
            if sep and ".m3u8" in url:
                episodes.append(f"{title}${rewrite(url.strip())}")
            else:
                episodes.append(episode)
        groups.append("#".join(episodes))
    return {**item, "vod_play_url": "$$$".join(groups)}
