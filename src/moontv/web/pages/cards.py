"""View models for the server-rendered pages: poster cards, play links, image URLs."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import quote, urlencode

_HUES = 12


def hue(text: str) -> int:
    """A stable colour class (0..11) for a title's placeholder poster."""
    return int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:4], 16) % _HUES


def play_url(
    source: str, vod_id: str, title: str, year: str = "", stitle: str = "", stype: str = "", **extra: str
) -> str:
    params = {"source": source, "id": vod_id, "title": title}
    if year and year != "unknown":
        params["year"] = year
    if stitle and stitle != title:
        params["stitle"] = stitle
    if stype:
        params["stype"] = stype
    params.update({k: v for k, v in extra.items() if v})
    return "/play?" + urlencode(params, quote_via=quote)


def image_url(url: str, proxy: dict[str, str]) -> str:
    """The site-wide Douban image rewrite (the browser applies the user's own choice to its cards)."""
    url = safe_url(url)
    if "doubanio.com" not in url:
        return url
    kind = proxy.get("type") or "server"
    if kind == "server":
        return "/api/image-proxy?url=" + quote(url, safe="")
    if kind == "img3":
        return re.sub(r"img\d+\.doubanio\.com", "img3.doubanio.com", url)
    if kind == "cmliussss-cdn-tencent":
        return re.sub(r"img\d+\.doubanio\.com", "img.doubanio.cmliussss.net", url)
    if kind == "cmliussss-cdn-ali":
        return re.sub(r"img\d+\.doubanio\.com", "img.doubanio.cmliussss.com", url)
    if kind == "custom" and proxy.get("url"):
        return proxy["url"] + quote(url, safe="")
    return url


def card(
    key: str,
    item: dict[str, Any],
    kind: str,
    record: dict[str, Any] | None = None,
    proxy: dict[str, str] | None = None,
) -> dict[str, Any]:
    source, _, vod_id = key.partition("+")
    title = str(item.get("title") or "")
    total = as_int(item.get("total_episodes"))
    index = as_int((record or item).get("index")) if (record or kind == "record") else 0
    stype = "tv" if total > 1 else ""
    result: dict[str, Any] = {
        "key": key,
        "kind": kind,
        "source": source,
        "id": vod_id,
        "title": title,
        "initial": title[:1] or "?",
        "hue": hue(title),
        "poster": image_url(str(item.get("cover") or ""), proxy or {}),
        "poster_raw": safe_url(str(item.get("cover") or "")),
        "year": str(item.get("year") or ""),
        "source_name": str(item.get("source_name") or ""),
        "search_title": str(item.get("search_title") or ""),
        "total": total,
        "index": index,
        "href": play_url(
            source, vod_id, title, str(item.get("year") or ""), str(item.get("search_title") or ""), stype
        ),
    }
    if record is not None or kind == "record":
        rec = record or item
        played, length = as_int(rec.get("play_time")), as_int(rec.get("total_time"))
        result["progress"] = min(100, round(played * 100 / length)) if length > 0 else 0
    return result


def as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)


def safe_url(url: str) -> str:
    """Only http(s) image URLs reach an ``src`` attribute (no javascript:, data: from upstream)."""
    url = url.strip()
    return url if _SAFE_URL.match(url) else ""


def sorted_items(data: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(data.items(), key=lambda kv: as_int(kv[1].get("save_time")), reverse=True)
