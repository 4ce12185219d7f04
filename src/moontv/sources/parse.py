"""Apple CMS v10 answers -> MoonTV ``SearchResult`` dicts. Pure functions, no I/O.

Everything here takes untrusted upstream data: functions check types instead of trusting them, avoid
regexes that can backtrack badly on hostile input, and raise nothing but :class:`SourceError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from html import unescape as html_unescape
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, ParseError

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as xml_fromstring

from moontv.sources.models import ApiSite, SearchPage, SourceError

__all__ = [
    "YELLOW_WORDS",
    "clean_html",
    "extract_year",
    "is_adult",
    "m3u8_from_content",
    "normalize_title",
    "parse_detail_html",
    "parse_detail_page",
    "parse_envelope",
    "parse_play_url",
    "parse_search_page",
    "to_search_result",
]

YELLOW_WORDS: tuple[str, ...] = (
    "伦理片",
    "福利",
    "里番动漫",
    "门事件",
    "萝莉少女",
    "制服诱惑",
    "国产传媒",
    "cosplay",
    "黑丝诱惑",
    "无码",
    "日本无码",
    "有码",
    "日本有码",
    "SWAG",
    "网红主播",
    "色情片",
    "同性片",
    "福利视频",
    "福利片",
    "写真热舞",
)

_BOM = b"\xef\xbb\xbf"
_NUMERIC_ENVELOPE_KEYS = ("page", "pagecount", "limit", "total")
_MAX_DETAIL_LEN = 80

_NEWLINES = re.compile(r"\n+")
_BLANKS = re.compile(r"[ \t]+")
_YEAR = re.compile(r"[0-9]{4}")
# A "URL token": the characters a URL found in free text may contain (same class as MoonTV's regexes).
_URL_TOKEN = re.compile(r"[^\s\"'<>]+")
_HTML_TITLE = re.compile(r"<title[^<>]{0,200}>([^<]{0,200})", re.IGNORECASE)
_PRINTABLE_JUNK = re.compile(r"[\x00-\x1f\x7f]+")

# Detail-site scraping (§3.5). `$` is excluded from the URL body so a scan never runs past the next
# `$`-prefixed URL: this keeps the non-greedy patterns linear on hostile pages.
_DOLLAR_M3U8 = re.compile(r"\$https?://[^\s\"'<>$]+?\.m3u8")
_FFZY_M3U8 = re.compile(
    r"\$https?://[^\s\"'<>$]{1,2048}?/[0-9]{8}/[0-9]{1,32}_[0-9a-fA-F]{1,128}/index\.m3u8"
)
_H1_OPEN = re.compile(r"<h1(?=[\s>/])", re.IGNORECASE)
_H1_CLOSE = re.compile(r"</h1\s*>", re.IGNORECASE)
_DIV_OPEN = re.compile(r"<div(?=[\s>/])", re.IGNORECASE)
_DIV_CLOSE = re.compile(r"</div\s*>", re.IGNORECASE)
_CLASS_ATTR = re.compile(r"""class\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_YEAR_CELL = re.compile(r">([0-9]{4})<")

_T = TypeVar("_T")


# ---------------------------------------------------------------------------------------------------------
# small coercions


def _text(value: Any) -> str:
    """A string field: strings pass, numbers are stringified, anything else is empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else str(value)
    return ""


def _to_int(value: Any) -> int | None:
    """Ints, integral floats and numeric strings (``"20"``, ``" 3 "``) -> int; anything else -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and 0 < len(value) <= 40:
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return None
            return int(number) if math.isfinite(number) and number.is_integer() else None
    return None


def _preview(text: str, limit: int = 40) -> str:
    """A short, single-line, control-free excerpt for error messages."""
    cleaned = _PRINTABLE_JUNK.sub(" ", text[: limit * 2]).strip()
    return cleaned[:limit] + ("…" if len(cleaned) > limit else "")


def _parse_error(message: str) -> SourceError:
    return SourceError("parse", message[:_MAX_DETAIL_LEN])


def _guarded(func: Callable[[], _T]) -> _T:
    """Run ``func``; any non-SourceError exception becomes a ``parse`` error (a last-resort safety net)."""
    try:
        return func()
    except SourceError:
        raise
    except RecursionError:
        raise _parse_error("upstream data is nested too deeply") from None
    except Exception as exc:
        raise _parse_error(f"malformed upstream data ({type(exc).__name__})") from None


# ---------------------------------------------------------------------------------------------------------
# envelope (JSON or XML)


def parse_envelope(body: bytes) -> dict[str, Any]:
    """Decode one provide-API answer into the JSON envelope shape.

    The result always has ``list`` (a list of dicts; non-dict items are dropped) and int-or-absent
    ``page``/``pagecount``/``limit``/``total`` (numeric strings are coerced, unusable values removed).
    """
    return _guarded(lambda: _parse_envelope(body))


def _parse_envelope(body: bytes) -> dict[str, Any]:
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    data = body.strip()
    while data.startswith(_BOM):
        data = data[len(_BOM) :].strip()
    if not data:
        raise _parse_error("empty response")
    if data == b"closed":
        raise SourceError("closed", "upstream API is closed")
    if data.startswith(b"<"):
        head = data[:64].lower()
        if head.startswith((b"<?xml", b"<rss")) and b"<html" not in data[:512].lower():
            return _normalize_envelope(_xml_envelope(data))
        raise _parse_error("HTML page instead of JSON" + _html_title_suffix(data))
    return _normalize_envelope(_json_object(data))


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if data[:1] in (b"{", b"["):
            raise _parse_error(f"invalid JSON ({exc.msg} at char {exc.pos})") from None
        preview = _preview(data[:160].decode("utf-8", "replace"))
        raise _parse_error(f"not a CMS answer: {preview!r}") from None
    if not isinstance(value, dict):
        raise _parse_error(f"JSON is not an object ({_json_type(value)})")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "array", str: "string", bool: "boolean"}.get(type(value), "number")


def _html_title_suffix(data: bytes) -> str:
    match = _HTML_TITLE.search(data[:4096].decode("utf-8", "replace"))
    if match is None:
        return ""
    title = _preview(html_unescape(match.group(1)))
    return f": {title!r}" if title else ""


def _normalize_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    result = dict(envelope)
    for key in _NUMERIC_ENVELOPE_KEYS:
        if key in result:
            number = _to_int(result[key])
            if number is None:
                del result[key]
            else:
                result[key] = number
    items = result.get("list")
    result["list"] = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    return result


# --- XML variant (``at=xml``) ----------------------------------------------------------------------------

_XML_VIDEO_FIELDS = {
    "id": "vod_id",
    "tid": "type_id",
    "name": "vod_name",
    "type": "type_name",
    "pic": "vod_pic",
    "year": "vod_year",
    "des": "vod_content",
    "lang": "vod_lang",
    "area": "vod_area",
    "state": "vod_serial",
    "note": "vod_remarks",
    "actor": "vod_actor",
    "director": "vod_director",
    "last": "vod_time",
    "dt": "vod_play_from",
}
_XML_INT_FIELDS = frozenset({"vod_id", "type_id"})
_XML_LIST_ATTRS = {"page": "page", "pagecount": "pagecount", "pagesize": "limit", "recordcount": "total"}


def _xml_envelope(data: bytes) -> dict[str, Any]:
    try:
        root = xml_fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise _parse_error("XML with DTD or entities refused") from None
    except (ParseError, ValueError) as exc:
        raise _parse_error(f"invalid XML ({exc})") from None
    listing = root if root.tag == "list" else root.find("list")
    if root.tag not in ("rss", "list") or listing is None:
        raise _parse_error(f"not a CMS XML answer (root <{_preview(str(root.tag), 20)}>)")
    envelope: dict[str, Any] = {
        key: listing.get(attr) for attr, key in _XML_LIST_ATTRS.items() if listing.get(attr) is not None
    }
    envelope["list"] = [_xml_video(video) for video in listing.iterfind("video")]
    classes = root.find("class")
    if classes is not None:
        envelope["class"] = [
            {"type_id": _to_int(ty.get("id")) or 0, "type_name": (ty.text or "").strip()}
            for ty in classes.iterfind("ty")
        ]
    return envelope


def _xml_video(video: Element) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for child in video:
        key = _XML_VIDEO_FIELDS.get(child.tag) if isinstance(child.tag, str) else None
        if key is not None:
            item[key] = (child.text or "").strip()
    for key in _XML_INT_FIELDS:
        number = _to_int(item.get(key))
        if number is not None:
            item[key] = number
    groups = video.find("dl")
    if groups is not None:
        dds = list(groups.iterfind("dd"))
        item["vod_play_from"] = "$$$".join(dd.get("flag") or dd.get("from") or "" for dd in dds)
        item["vod_play_url"] = "$$$".join((dd.text or "").strip() for dd in dds)
    return item


# ---------------------------------------------------------------------------------------------------------
# play urls


def parse_play_url(play_url: str) -> tuple[list[str], list[str]]:
    """Pick the ``$$$`` group with the most ``.m3u8`` entries; returns aligned (urls, titles).

    Entries are split on ``#`` and on CR/LF. ``label$url`` keeps the label; a bare ``url`` (or an empty
    label) is titled with its 1-based position among the kept episodes. Ties keep the earlier group.
    """
    if not isinstance(play_url, str) or not play_url:
        return [], []
    best_urls: list[str] = []
    best_titles: list[str] = []
    for group in play_url.split("$$$"):
        # Every kept entry holds ".m3u8" and entries do not overlap, so the count bounds the group's
        # episodes: a group that cannot beat the best so far (ties keep the earlier) is not parsed.
        if group.count(".m3u8") <= len(best_urls):
            continue
        urls, titles = _m3u8_entries(group)
        if len(urls) > len(best_urls):
            best_urls, best_titles = urls, titles
    return best_urls, best_titles


def _m3u8_entries(group: str) -> tuple[list[str], list[str]]:
    urls: list[str] = []
    titles: list[str] = []
    if "\r" in group or "\n" in group:
        group = group.replace("\r", "#").replace("\n", "#")
    # str.split instead of a regex split: several times faster on CJK-heavy play lists.
    for entry in group.split("#"):
        parts = entry.split("$", 2)
        if len(parts) == 1:  # a bare url (or an empty entry, which ends with nothing)
            url = entry.strip()
            label = ""
        else:  # label$url[$anything]
            url = parts[1].strip()
            label = parts[0]
        if url.endswith(".m3u8"):
            urls.append(url)
            titles.append(label.strip() or str(len(urls)))
    return urls, titles


def _urls_with_suffix(text: str, suffix: str, *, limit: int | None = None) -> list[str]:
    """All ``https?://…<suffix>`` URLs (non-greedy, no quotes/whitespace/``<>``), like the regex
    ``https?://[^\\s"'<>]+?<suffix>`` but linear: a hand-rolled scan cannot backtrack quadratically."""
    found: list[str] = []
    for token_match in _URL_TOKEN.finditer(text):
        token = token_match.group()
        if suffix not in token:
            continue
        pos = 0
        while True:
            start = token.find("http", pos)
            if start < 0:
                break
            if token.startswith("://", start + 4):
                body = start + 7
            elif token.startswith("s://", start + 4):
                body = start + 8
            else:
                pos = start + 1
                continue
            end = token.find(suffix, body + 1)
            if end < 0:
                break
            pos = end + len(suffix)
            found.append(token[start:pos])
            if limit is not None and len(found) >= limit:
                return found
    return found


def m3u8_from_content(content: str) -> tuple[list[str], list[str]]:
    """Fallback episodes: every ``http(s)://….m3u8`` URL in ``vod_content``, titled ``"1".."n"``."""
    if not isinstance(content, str) or ".m3u8" not in content:
        return [], []
    urls = _urls_with_suffix(content, ".m3u8")
    return urls, [str(index) for index in range(1, len(urls) + 1)]


# ---------------------------------------------------------------------------------------------------------
# text fields


def _strip_tags(text: str) -> str:
    """Replace every ``<…>`` tag with a newline (``<[^>]+>`` semantics, but linear on unclosed ``<``)."""
    out: list[str] = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            break
        gt = text.find(">", lt + 1)
        if gt < 0:
            break  # no tag can close any more
        if gt == lt + 1:  # "<>" is not a tag
            out.append(text[pos : lt + 1])
            pos = lt + 1
            continue
        out.append(text[pos:lt])
        out.append("\n")
        pos = gt + 1
    out.append(text[pos:])
    return "".join(out)


def clean_html(text: str) -> str:
    """MoonTV's ``cleanHtmlTags``: tags -> newlines, collapse newline/blank runs, trim, decode entities."""
    if not isinstance(text, str) or not text:
        return ""
    text = _strip_tags(text)
    text = _NEWLINES.sub("\n", text)
    text = _BLANKS.sub(" ", text)
    return html_unescape(text.strip("\n").strip())


def normalize_title(name: Any) -> str:
    """Trim and collapse internal whitespace runs to one space."""
    return " ".join(_text(name).split())


def extract_year(vod_year: Any) -> str:
    """The first run of 4 ASCII digits, else ``"unknown"``."""
    match = _YEAR.search(_text(vod_year))
    return match.group() if match else "unknown"


def is_adult(type_name: Any) -> bool:
    """True when ``type_name`` contains one of the 20 yellow words (case-sensitive substring)."""
    if not isinstance(type_name, str) or not type_name:
        return False
    return any(word in type_name for word in YELLOW_WORDS)


# ---------------------------------------------------------------------------------------------------------
# items -> SearchResult


def _item_id(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    number = _to_int(value)
    return "" if number is None else str(number)


def to_search_result(item: dict[str, Any], site: ApiSite, *, normalize: bool = True) -> dict[str, Any] | None:
    """Map one ``list`` item to the MoonTV SearchResult wire dict (key order matters for clients).

    Items without ``vod_id`` or ``vod_name`` give None. Items with zero playable episodes are still
    returned (MoonTV 3.8.2 behaviour); callers decide whether to show them.
    """
    if not isinstance(item, dict):
        return None
    vod_id = _item_id(item.get("vod_id"))
    raw_name = _text(item.get("vod_name"))
    if not vod_id or not raw_name.strip():
        return None
    content = _text(item.get("vod_content"))
    episodes, titles = parse_play_url(_text(item.get("vod_play_url")))
    if not episodes:
        episodes, titles = m3u8_from_content(content)
    douban_id = _to_int(item.get("vod_douban_id"))
    return {
        "id": vod_id,
        "title": normalize_title(raw_name) if normalize else raw_name,
        "poster": _text(item.get("vod_pic")),
        "episodes": episodes,
        "episodes_titles": titles,
        "source": site.key,
        "source_name": site.name,
        "class": _text(item.get("vod_class")),
        "year": extract_year(item.get("vod_year")),
        "desc": clean_html(content),
        "type_name": _text(item.get("type_name")),
        "douban_id": douban_id if douban_id is not None and douban_id > 0 else 0,
    }


def parse_search_page(body: bytes, site: ApiSite, *, filter_adult: bool) -> SearchPage:
    """One search page. ``raw_count`` counts valid results before the adult filter."""
    return _guarded(lambda: _parse_search_page(body, site, filter_adult))


def _parse_search_page(body: bytes, site: ApiSite, filter_adult: bool) -> SearchPage:
    envelope = _parse_envelope(body)
    results = [result for item in envelope["list"] if (result := to_search_result(item, site))]
    raw_count = len(results)
    if filter_adult:
        results = [result for result in results if not is_adult(result["type_name"])]
    pagecount = envelope.get("pagecount", 1)
    page = envelope.get("page", 1)
    extra = {key: envelope[key] for key in ("total", "limit") if key in envelope}
    return SearchPage(
        items=results,
        raw_count=raw_count,
        pagecount=max(pagecount, 0),
        page=page if page >= 1 else 1,
        extra=extra,
    )


def parse_detail_page(body: bytes, site: ApiSite) -> dict[str, Any] | None:
    """The first valid item of a ``?ac=videolist&ids=`` answer, title kept as sent; None if there is none."""

    def parse() -> dict[str, Any] | None:
        for item in _parse_envelope(body)["list"]:
            result = to_search_result(item, site, normalize=False)
            if result is not None:
                return result
        return None

    return _guarded(parse)


# ---------------------------------------------------------------------------------------------------------
# special "detail" sites: scrape {detail}/index.php/vod/detail/id/{id}.html


def parse_detail_html(html: str, site: ApiSite, id: str) -> dict[str, Any] | None:
    """Scrape a maccms detail page (§3.5). None when the page has neither a title nor an episode."""
    if not isinstance(html, str) or not html:
        return None
    return _guarded(lambda: _parse_detail_html(html, site, str(id)))


def _parse_detail_html(page: str, site: ApiSite, vod_id: str) -> dict[str, Any] | None:
    episodes = _detail_episodes(page, site.key)
    title = clean_html(_first_element_inner(page, _H1_OPEN, _H1_CLOSE) or "").strip()
    if not episodes and not title:
        return None
    posters = _urls_with_suffix(page, ".jpg", limit=1)
    year = _YEAR_CELL.search(page)
    return {
        "id": vod_id,
        "title": title,
        "poster": posters[0] if posters else "",
        "episodes": episodes,
        "episodes_titles": [str(index) for index in range(1, len(episodes) + 1)],
        "source": site.key,
        "source_name": site.name,
        "class": "",
        "year": year.group(1) if year else "unknown",
        "desc": clean_html(_sketch_inner(page)),
        "type_name": "",
        "douban_id": 0,
    }


def _detail_episodes(page: str, site_key: str) -> list[str]:
    matches: list[str] = []
    if site_key == "ffzy":
        matches = _FFZY_M3U8.findall(page)
    if not matches:
        matches = _DOLLAR_M3U8.findall(page)
    if matches:
        # dict.fromkeys de-duplicates and keeps first-seen order.
        return list(dict.fromkeys(match[1:].split("(", 1)[0] for match in matches))
    return _urls_with_suffix(page, ".m3u8")


def _first_element_inner(page: str, opener: re.Pattern[str], closer: re.Pattern[str]) -> str | None:
    match = opener.search(page)
    if match is None:
        return None
    gt = page.find(">", match.end())
    if gt < 0:
        return None
    end = closer.search(page, gt + 1)
    return page[gt + 1 : end.start()] if end else None


def _sketch_inner(page: str) -> str:
    """Inner HTML of the first ``<div>`` whose class list contains ``sketch`` (up to the next ``</div>``)."""
    pos = 0
    while (match := _DIV_OPEN.search(page, pos)) is not None:
        gt = page.find(">", match.end())
        if gt < 0:
            return ""
        attrs = _CLASS_ATTR.search(page, match.end(), gt)
        if (
            attrs is not None
            and "sketch" in (attrs.group(1) or attrs.group(2) or attrs.group(3) or "").split()
        ):
            end = _DIV_CLOSE.search(page, gt + 1)
            return page[gt + 1 : end.start()] if end else ""
        pos = gt + 1
    return ""
