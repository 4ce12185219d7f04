"""A fake Apple CMS v10 (maccms10) upstream for MoonTV's tests and benchmarks.

The fake is a real HTTP server on ``127.0.0.1`` that reproduces the ``/api.php/provide/vod`` API of a real
maccms10 server, as recorded in ``tests/fixtures/maccms`` (see ``index.md`` there). Answers are generated, not
replayed, so custom data sets work too (``make_item``), but for dataset A (the recorded data) the bodies are
byte for byte the recorded ones.

What is reproduced (without faults):

- every path variant (``/api.php/provide/vod``, trailing slash, ``/at/json``, ``/at/xml``, ``?at=xml``,
  ThinkPHP-style ``/key/value`` path pairs); another action under ``/api.php/`` gives 200 with an empty body,
  a path outside ``/api.php`` gives php -S's 404 page;
- raw answer framing like ``php -S``: ``Connection: close``, no ``Content-Length``, the header line
  ``Content-Type:text/html;charset=utf-8`` (no space) for JSON, XML and errors alike;
- JSON encoded like PHP's ``json_encode(..., JSON_UNESCAPED_UNICODE)`` (CJK literal, ``\\/``), the whole
  output passed through maccms's ``mac_filter_tags``;
- ``ac=list`` (also no or an unknown ``ac``) short items plus ``class``; ``ac=videolist``/``ac=detail`` full
  89-key items; ``wd`` (LIKE ``%wd%`` on ``vod_name``, case-insensitive, second URL-decoding, ``%``/``_``
  wildcards, GET tag stripping), ``ids``, ``t``, ``pg``, ``pagesize``, ``year``, ``isend``, ``from``,
  ``sort_direction``; ordering by ``vod_time`` DESC; unpublished rows (``vod_status`` 0) never returned;
- ``vod_hits + 1`` after a single-id ``ac=detail``; HEAD answers 200 with no body; POST acts like GET.

Fault knobs (``delay``, ``fault``, ``search_rate_limit``, ``huge_bytes``) can be changed while the server
runs. ``stop()`` returns promptly even while requests hang or are delayed.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import re
import secrets
import socket
import socketserver
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote_to_bytes

__all__ = [
    "DEFAULT_HUGE_BYTES",
    "FAULTS",
    "FakeCms",
    "FakeCmsFleet",
    "dataset_a",
    "dataset_a_classes",
    "fixtures_dir",
    "make_item",
    "php_json_encode",
]

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "maccms"

#: Every accepted value of ``FakeCms.fault`` (``None`` means "behave like the healthy server").
FAULTS: frozenset[str] = frozenset(
    {"500", "html", "truncated", "huge", "empty", "closed", "ratelimit", "hang", "bom", "reset"}
)
DEFAULT_HUGE_BYTES = 32 * 1024 * 1024

SHANGHAI = timezone(timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991
API_PATH = "/api.php/provide/vod"
MSG_LIST = "数据列表"
DEFAULT_PAGESIZE = 20
MAX_PAGESIZE = 100

# --------------------------------------------------------------------------------------------------------
# Data: item template, dataset A, make_item
# --------------------------------------------------------------------------------------------------------

# The 89 keys of a full item, in the order and with the value types a real maccms10 sends them.
# fmt: off
_ITEM_TEMPLATE: dict[str, Any] = {
    "vod_id": 0, "type_id": 0, "type_id_1": 0, "group_id": 0, "vod_name": "", "vod_sub": "", "vod_en": "",
    "vod_status": 1, "vod_audit_remark": "", "vod_letter": "", "vod_color": "", "vod_tag": "",
    "vod_class": "", "vod_pic": "", "vod_pic_thumb": "", "vod_pic_slide": "", "vod_pic_original": "",
    "vod_pic_screenshot": None, "vod_actor": "", "vod_director": "", "vod_writer": "", "vod_behind": "",
    "vod_blurb": "", "vod_remarks": "", "vod_pubdate": "", "vod_publish_time": 0, "vod_total": 0,
    "vod_serial": "0", "vod_tv": "", "vod_weekday": "", "vod_area": "", "vod_lang": "", "vod_year": "",
    "vod_version": "", "vod_state": "", "vod_author": "", "vod_jumpurl": "", "vod_tpl": "",
    "vod_tpl_play": "", "vod_tpl_down": "", "vod_isend": 0, "vod_lock": 0, "vod_level": 0,
    "vod_copyright": 0, "vod_points": 0, "vod_points_play": 0, "vod_points_down": 0, "vod_hits": 0,
    "vod_hits_day": 0, "vod_hits_week": 0, "vod_hits_month": 0, "vod_duration": "", "vod_up": 0,
    "vod_down": 0, "vod_score": "0.0", "vod_score_all": 0, "vod_score_num": 0, "vod_time": "",
    "vod_time_add": 0, "vod_time_hits": 0, "vod_time_make": 0, "vod_recycle_time": 0, "vod_trysee": 0,
    "vod_douban_id": 0, "vod_douban_score": "0.0", "vod_reurl": "", "vod_rel_vod": "", "vod_rel_art": "",
    "vod_pwd": "", "vod_pwd_url": "", "vod_pwd_play": "", "vod_pwd_play_url": "", "vod_pwd_down": "",
    "vod_pwd_down_url": "", "vod_content": "", "vod_play_from": "", "vod_play_server": "",
    "vod_play_note": "", "vod_play_url": "", "vod_down_from": "", "vod_down_server": "",
    "vod_down_note": "", "vod_down_url": "", "vod_plot": 0, "vod_plot_name": "", "vod_plot_detail": "",
    "vod_share_count": 0, "type_is_vip_exclusive": 0, "type_name": "",
}
# fmt: on
ITEM_KEYS: tuple[str, ...] = tuple(_ITEM_TEMPLATE)

# Keys (in order) of a short item in list mode.
SHORT_KEYS: tuple[str, ...] = (
    "vod_id",
    "vod_name",
    "type_id",
    "type_name",
    "vod_en",
    "vod_time",
    "vod_remarks",
    "vod_play_from",
    "type_is_vip_exclusive",
)

# Keys (in order) of a ``class`` entry.
CLASS_KEYS: tuple[str, ...] = ("type_id", "type_pid", "type_name")

# Parents of dataset A's categories (type_id -> type_pid), used for make_item's type_id_1.
_DATASET_A_PARENTS = {1: 0, 2: 0, 3: 0, 5: 0, 6: 1, 7: 1, 13: 2, 14: 2}
_DEFAULT_TIME_BASE = 1735660800  # 2025-01-01 00:00:00 in Asia/Shanghai


def fixtures_dir() -> Path:
    """The folder with the recorded maccms answers (``tests/fixtures/maccms``)."""
    return FIXTURES_DIR


def shanghai_time(ts: int) -> str:
    """Format a unix timestamp the way maccms returns ``vod_time`` (``Y-m-d H:i:s`` in UTC+8)."""
    return datetime.fromtimestamp(ts, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _unix_from_shanghai(text: str) -> int:
    try:
        dt = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return 0
    return int(dt.timestamp())


def _load_recorded(name: str) -> dict[str, Any]:
    with (FIXTURES_DIR / f"{name}.response.json").open(encoding="utf-8") as fh:
        return json.load(fh)


def _parse_sql_inserts(text: str) -> dict[str, list[dict[str, Any]]]:
    """Parse the ``INSERT INTO t (cols) VALUES (...),(...);`` statements of seed.sql (MySQL literals)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for match in re.finditer(r"INSERT INTO (\w+) \(([^)]*)\) VALUES", text):
        columns = [c.strip() for c in match.group(2).split(",")]
        pos = match.end()
        rows = tables.setdefault(match.group(1), [])
        while pos < len(text):
            ch = text[pos]
            if ch == ";":
                break
            if ch == "(":
                values, pos = _parse_sql_tuple(text, pos + 1)
                rows.append(dict(zip(columns, values, strict=True)))
                continue
            pos += 1
    return tables


def _parse_sql_tuple(text: str, pos: int) -> tuple[list[Any], int]:
    values: list[Any] = []
    while True:
        ch = text[pos]
        if ch in " \t\r\n,":
            pos += 1
        elif ch == ")":
            return values, pos + 1
        elif ch == "'":
            out: list[str] = []
            pos += 1
            while True:
                ch = text[pos]
                if ch == "\\":
                    nxt = text[pos + 1]
                    out.append({"n": "\n", "r": "\r", "t": "\t", "0": "\0"}.get(nxt, nxt))
                    pos += 2
                elif ch == "'" and text[pos + 1] == "'":
                    out.append("'")
                    pos += 2
                elif ch == "'":
                    pos += 1
                    break
                else:
                    out.append(ch)
                    pos += 1
            values.append("".join(out))
        else:
            end = pos
            while text[end] not in ",)":
                end += 1
            token = text[pos:end].strip()
            pos = end
            if token.upper() == "NULL":
                values.append(None)
            elif re.fullmatch(r"-?\d+", token):
                values.append(int(token))
            else:
                values.append(float(token))


@functools.lru_cache(maxsize=1)
def _seed() -> dict[str, list[dict[str, Any]]]:
    return _parse_sql_inserts((FIXTURES_DIR / "seed.sql").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _dataset_a_rows() -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """(published items as served, unpublished items) of dataset A; cached, callers copy."""
    body = json.loads(_load_recorded("detail_no_ids")["body"])
    seed_rows = {row["vod_id"]: row for row in _seed()["mac_vod"]}
    type_names = {row["type_id"]: row["type_name"] for row in _seed()["mac_type"]}
    published: list[dict[str, Any]] = []
    for recorded in body["list"]:
        item = dict(recorded)
        item["vod_hits"] = 0
        # The recorded body went through mac_filter_tags; keep the raw database text instead (the fake filters
        # its output exactly like the real server, so the served bytes are the recorded ones again).
        item["vod_content"] = seed_rows[item["vod_id"]]["vod_content"]
        published.append(item)
    hidden: list[dict[str, Any]] = []
    for vod_id, row in seed_rows.items():
        if row["vod_status"] == 1:
            continue
        item = dict(_ITEM_TEMPLATE)
        for key, value in row.items():
            if key in item:
                item[key] = value
        item["vod_time"] = shanghai_time(row["vod_time"])
        item["vod_time_add"] = row["vod_time_add"]
        item["type_name"] = type_names.get(row["type_id"], "")
        item["vod_id"] = vod_id
        hidden.append(item)
    return tuple(published), tuple(hidden)


def dataset_a(*, include_unpublished: bool = False) -> list[dict[str, Any]]:
    """The 11 published items of dataset A as full 89-key dicts (``vod_hits`` 0), newest ``vod_time`` first.

    Taken from the recorded ``detail_no_ids`` body; ``vod_content`` is the raw database text from seed.sql
    (the server rewrites ``<script``/``onerror`` on output). ``include_unpublished=True`` appends row 12
    (``vod_status`` 0), which the fake keeps but never returns, like the real server.
    """
    published, hidden = _dataset_a_rows()
    rows = list(published) + (list(hidden) if include_unpublished else [])
    return copy.deepcopy(rows)


def dataset_a_classes(*, with_type_mid: bool = False) -> list[dict[str, Any]]:
    """The ``class`` array of dataset A exactly as recorded: every ``mac_type`` row, ordered by type_id.

    With ``with_type_mid=True`` each entry also carries ``type_mid`` (1 = video category, 2 = article category
    资讯), which decides what the XML ``<class>`` lists. The fake never puts ``type_mid`` in JSON.
    """
    body = json.loads(_load_recorded("list_default")["body"])
    classes = [dict(c) for c in body["class"]]
    if with_type_mid:
        mids = {row["type_id"]: row["type_mid"] for row in _seed()["mac_type"]}
        for entry in classes:
            entry["type_mid"] = mids.get(entry["type_id"], 1)
    return classes


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]*>", "", text)


def make_item(
    vod_id: int,
    name: str,
    *,
    type_id: int = 6,
    type_name: str = "动作片",
    year: str = "2024",
    episodes: int = 1,
    groups: list[tuple[str, list[tuple[str, str]]]] | None = None,
    pic: str | None = None,
    content: str | None = None,
    douban_id: int = 0,
    vod_time: str | None = None,
    status: int = 1,
    **overrides: Any,
) -> dict[str, Any]:
    """A full-shaped item: the 89 keys of a real one, same order, same value types.

    Play data comes from ``groups`` (``[(from_code, [(label, url), ...]), ...]``, groups may differ in
    length) or else from ``episodes`` (one ``ffm3u8`` group of m3u8 URLs labelled 第01集, 第02集, ...).
    Defaults: ``pic`` ``https://img.example.com/vod/<id>.jpg``, ``content`` ``<p>name</p>``, ``vod_time``
    2025-01-01 00:00 (Shanghai) plus ``vod_id`` minutes, so a higher id is newer. ``overrides`` replace any
    of the 89 keys (any type, to simulate odd upstreams); an unknown key raises ``TypeError``.
    """
    unknown = set(overrides) - set(_ITEM_TEMPLATE)
    if unknown:
        raise TypeError(f"make_item: unknown item keys {sorted(unknown)}")
    if groups is None:
        groups = [
            (
                "ffm3u8",
                [
                    (f"第{n:02d}集", f"https://vip.ffzy-play.example.com/{vod_id}/ep{n:02d}/index.m3u8")
                    for n in range(1, episodes + 1)
                ],
            )
        ]
    total = len(groups[0][1]) if groups else 0
    if vod_time is None:
        vod_time = shanghai_time(_DEFAULT_TIME_BASE + 60 * vod_id)
    if content is None:
        content = f"<p>{name}</p>"
    slug = "".join(c for c in name.lower() if c.isascii() and c.isalnum()) or f"vod{vod_id}"
    parent = _DATASET_A_PARENTS.get(type_id, 0)

    item = dict(_ITEM_TEMPLATE)
    item.update(
        vod_id=vod_id,
        type_id=type_id,
        type_id_1=parent or type_id,
        vod_name=name,
        vod_en=slug,
        vod_status=status,
        vod_letter=slug[0].upper(),
        vod_pic=pic if pic is not None else f"https://img.example.com/vod/{vod_id}.jpg",
        vod_blurb=_strip_tags(content)[:100],
        vod_remarks="HD" if total <= 1 else f"更新至{total:02d}集",
        vod_total=total,
        vod_serial=str(total) if total > 1 else "0",
        vod_area="中国大陆",
        vod_lang="国语",
        vod_year=str(year),
        vod_douban_id=douban_id,
        vod_time=vod_time,
        vod_time_add=_unix_from_shanghai(vod_time),
        vod_content=content,
        vod_play_from="$$$".join(code for code, _ in groups),
        vod_play_server="$$$".join("no" for _ in groups),
        vod_play_note="$$$".join("" for _ in groups),
        vod_play_url="$$$".join("#".join(f"{label}${url}" for label, url in eps) for _, eps in groups),
        type_name=type_name,
    )
    item.update(overrides)
    return item


# --------------------------------------------------------------------------------------------------------
# PHP/maccms emulation helpers
# --------------------------------------------------------------------------------------------------------

_FILTER_TAGS_RE = re.compile(r"\{:|<script|<iframe|<frameset|<object|onerror", re.IGNORECASE)
_PHP_NUMERIC_RE = re.compile(r"[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*")
_PHP_INT_PREFIX_RE = re.compile(r"[ \t\n\r\v\f]*([+-]?\d+)")
# PHP strip_tags: a tag starts at "<" followed by a non-space character and runs to ">" (or the end).
_STRIP_TAGS_RE = re.compile(r"<(?=[^\s<])[^>]*(>|$)|<!--.*?(-->|$)", re.DOTALL)


def php_json_encode(value: Any) -> str:
    """``json_encode($value, JSON_UNESCAPED_UNICODE)``: compact, CJK literal, ``/`` escaped as ``\\/``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    # A "/" never occurs in an escape sequence of json.dumps, so a plain replace is exact.
    return text.replace("/", "\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def mac_filter_tags(text: str) -> str:
    """maccms's output filter: ``{:``, ``<script``, ``<iframe``, ``<frameset``, ``<object`` and ``onerror``
    (any case) become ``*``."""
    return _FILTER_TAGS_RE.sub("*", text)


def _php_intval(text: str) -> int:
    match = _PHP_INT_PREFIX_RE.match(text)
    return int(match.group(1)) if match else 0


def _php_str(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    return str(value)


def _urldecode(text: str) -> str:
    """PHP ``urldecode`` (``+`` -> space, ``%XX`` -> byte) of a UTF-8 string."""
    raw = unquote_to_bytes(text.replace("+", " "))
    return raw.decode("utf-8", errors="replace")


def _parse_query(raw: bytes) -> dict[str, str]:
    """PHP-style query parsing: ``&``-separated, ``+`` is a space, the last duplicate wins."""
    params: dict[str, str] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        key_b, _, value_b = part.partition(b"=")
        key = unquote_to_bytes(key_b.replace(b"+", b" ")).decode("utf-8", errors="replace")
        if not key:
            continue
        params[key] = unquote_to_bytes(value_b.replace(b"+", b" ")).decode("utf-8", errors="replace")
    return params


@functools.lru_cache(maxsize=512)
def _like_regex(pattern: str) -> re.Pattern[str]:
    """MySQL ``LIKE`` (``%``, ``_``, ``\\`` escape) under a case-insensitive collation, as a regex."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _like(value: Any, pattern: str) -> bool:
    return _like_regex(pattern).fullmatch(_php_str(value)) is not None


# XML <video> children: (tag, item key, CDATA?)
_XML_COMMON = (
    ("last", "vod_time", False),
    ("id", "vod_id", False),
    ("tid", "type_id", False),
    ("name", "vod_name", True),
    ("type", "type_name", False),
)
_XML_DETAIL = (
    ("pic", "vod_pic", False),
    ("lang", "vod_lang", False),
    ("area", "vod_area", False),
    ("year", "vod_year", False),
    ("state", "vod_serial", False),
    ("note", "vod_remarks", True),
    ("actor", "vod_actor", True),
    ("director", "vod_director", True),
)


def _xml_field(tag: str, value: str, cdata: bool) -> str:
    return f"<{tag}><![CDATA[{value}]]></{tag}>" if cdata else f"<{tag}>{value}</{tag}>"


def _cut_play_groups(item: dict[str, Any], code: str) -> dict[str, Any]:
    """``from=code``: keep only the play group(s) named ``code`` in from/server/note/url."""
    froms = _php_str(item.get("vod_play_from", "")).split("$$$")
    keep = [i for i, name in enumerate(froms) if name == code]
    cut = dict(item)
    for key in ("vod_play_from", "vod_play_server", "vod_play_note", "vod_play_url"):
        if key not in item:
            continue
        parts = _php_str(item[key]).split("$$$")
        cut[key] = "$$$".join(parts[i] if i < len(parts) else "" for i in keep)
    return cut


# --------------------------------------------------------------------------------------------------------
# The answer model
# --------------------------------------------------------------------------------------------------------

_STATUS_REASONS = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}
_CT_HTML = "Content-Type:text/html;charset=utf-8"
_SESSION_HEADERS = (
    "Set-Cookie: PHPSESSID={sid}; path=/; SameSite=Lax",
    "Expires: Thu, 19 Nov 1981 08:52:00 GMT",
    "Cache-Control: no-store, no-cache, must-revalidate",
    "Pragma: no-cache",
)
_HTML_WAF_PAGE = (
    '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>访问受限 - 安全防护</title>'
    '</head>\n<body><div class="box"><h1>您的访问请求已被拦截</h1>'
    "<p>当前请求疑似存在风险，已被站点防火墙拦截。</p>"
    "<p>Request blocked by the web application firewall. Event ID: fake-waf-0001</p>"
    "</div></body></html>\n"
)
_HTML_500_PAGE = (
    "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    "<center><h1>500 Internal Server Error</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class _Answer:
    status: int = 200
    headers: list[str] = field(default_factory=list)
    body: bytes = b""
    session: bool = True  # add the PHPSESSID/no-cache headers of a normal maccms answer


class _EmptyBody(Exception):
    """The PHP code failed and swallowed the exception: HTTP 200 with an empty body."""


@dataclass(frozen=True)
class _Store:
    items: tuple[dict[str, Any], ...]  # sorted: vod_time DESC, vod_id DESC
    by_id: dict[int, int]  # vod_id -> index in items


def _sorted_store(items: Iterable[dict[str, Any]]) -> _Store:
    def key(item: dict[str, Any]) -> tuple[str, int]:
        return (_php_str(item.get("vod_time", "")), _php_intval(_php_str(item.get("vod_id", 0))))

    ordered = tuple(sorted(items, key=key, reverse=True))
    by_id: dict[int, int] = {}
    for index, item in enumerate(ordered):
        by_id.setdefault(_php_intval(_php_str(item.get("vod_id", 0))), index)
    return _Store(ordered, by_id)


# --------------------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, fake: FakeCms) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client disconnects and resets are part of the game; keep test output clean.
        return


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 120

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_GET
    do_HEAD = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET
    do_OPTIONS = do_GET


# --------------------------------------------------------------------------------------------------------
# FakeCms
# --------------------------------------------------------------------------------------------------------


class FakeCms:
    """One fake source = one real HTTP server on 127.0.0.1 (own port), behaving like maccms10's provide API.

    ``items`` are full item dicts (``dataset_a()``/``make_item``); rows with ``vod_status`` 0 are stored but
    never returned. The default data is dataset A including its unpublished row 12. ``classes`` is the
    ``class`` array (entries ``{type_id, type_pid, type_name}``, optional ``type_mid``, default 1).

    Live knobs (thread-safe, also settable as keyword arguments): ``delay`` (seconds before answering),
    ``fault`` (one of ``FAULTS`` or None), ``huge_bytes`` (body size of the ``"huge"`` fault) and
    ``search_rate_limit`` (``(max, window_s)``: at most ``max`` searches - requests with a non-empty ``wd`` -
    per ``window_s`` seconds, then maccms's anti-scrape 429; other requests pass).
    """

    def __init__(
        self,
        items: list[dict[str, Any]] | None = None,
        *,
        classes: list[dict[str, Any]] | None = None,
        delay: float = 0.0,
        fault: str | None = None,
        huge_bytes: int = DEFAULT_HUGE_BYTES,
        search_rate_limit: tuple[int, float] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        if items is None:
            items = dataset_a(include_unpublished=True)
        self._initial_items = copy.deepcopy(list(items))
        self._store = _sorted_store(copy.deepcopy(self._initial_items))
        if classes is None:
            classes = dataset_a_classes(with_type_mid=True)
        self._classes = copy.deepcopy(classes)
        self._requests: list[dict[str, Any]] = []
        self._search_times: deque[float] = deque()
        self._delay = 0.0
        self._fault: str | None = None
        self._huge_bytes = DEFAULT_HUGE_BYTES
        self._search_rate_limit: tuple[int, float] | None = None
        self.delay = delay
        self.fault = fault
        self.huge_bytes = huge_bytes
        self.search_rate_limit = search_rate_limit
        self._server = _Server(self)
        self.port: int = self._server.server_port
        self.base_url: str = f"http://127.0.0.1:{self.port}{API_PATH}"
        self._thread: threading.Thread | None = None
        self._stopped = False

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeCms:
        """Serve in a daemon thread; returns self. A stopped fake cannot be restarted."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("FakeCms was stopped; create a new one")
            if self._thread is not None:
                return self
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"FakeCms:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port. Hanging or delayed requests are released (closed unanswered)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        self._stopping.set()
        if thread is not None:
            self._server.shutdown()
            thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> FakeCms:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FakeCms {self.base_url} items={len(self._store.items)} fault={self._fault!r}>"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no path)."""
        return f"http://127.0.0.1:{self.port}"

    # ---- knobs -----------------------------------------------------------------------------------------

    @property
    def delay(self) -> float:
        with self._lock:
            return self._delay

    @delay.setter
    def delay(self, value: float) -> None:
        if value < 0:
            raise ValueError("delay must be >= 0")
        with self._lock:
            self._delay = float(value)

    @property
    def fault(self) -> str | None:
        with self._lock:
            return self._fault

    @fault.setter
    def fault(self, value: str | None) -> None:
        if value is not None and value not in FAULTS:
            raise ValueError(f"unknown fault {value!r}; expected None or one of {sorted(FAULTS)}")
        with self._lock:
            self._fault = value

    @property
    def huge_bytes(self) -> int:
        with self._lock:
            return self._huge_bytes

    @huge_bytes.setter
    def huge_bytes(self, value: int) -> None:
        if value < 0:
            raise ValueError("huge_bytes must be >= 0")
        with self._lock:
            self._huge_bytes = int(value)

    @property
    def search_rate_limit(self) -> tuple[int, float] | None:
        with self._lock:
            return self._search_rate_limit

    @search_rate_limit.setter
    def search_rate_limit(self, value: tuple[int, float] | None) -> None:
        if value is not None:
            max_n, window = value
            if max_n < 0 or window <= 0:
                raise ValueError("search_rate_limit must be (max >= 0, window_s > 0)")
            value = (int(max_n), float(window))
        with self._lock:
            self._search_rate_limit = value
            self._search_times.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Snapshot of the request log: ``{method, path, query, raw_query}`` dicts in arrival order."""
        with self._lock:
            return [dict(entry, query=dict(entry["query"])) for entry in self._requests]

    @property
    def items(self) -> list[dict[str, Any]]:
        """A copy of the stored rows (including unpublished ones and current ``vod_hits``), newest first."""
        return copy.deepcopy(list(self._store.items))

    def set_items(self, items: list[dict[str, Any]]) -> None:
        """Replace the data (also what ``reset()`` goes back to)."""
        fresh = copy.deepcopy(list(items))
        with self._lock:
            self._initial_items = fresh
            self._store = _sorted_store(copy.deepcopy(fresh))

    def reset(self) -> None:
        """Clear the request log and every fault knob; restore the initial rows (``vod_hits``)."""
        with self._lock:
            self._requests.clear()
            self._delay = 0.0
            self._fault = None
            self._huge_bytes = DEFAULT_HUGE_BYTES
            self._search_rate_limit = None
            self._search_times.clear()
            self._store = _sorted_store(copy.deepcopy(self._initial_items))

    # ---- request handling ------------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        handler.close_connection = True
        method = handler.command.upper()
        target = handler.path.encode("latin-1", errors="replace")
        if target.startswith((b"http://", b"https://")):
            slash = target.find(b"/", target.find(b"//") + 2)
            target = target[slash:] if slash >= 0 else b"/"
        path_raw, _, query_raw = target.partition(b"?")
        path = unquote_to_bytes(path_raw).decode("utf-8", errors="replace")
        query = _parse_query(query_raw)
        self._drain_body(handler)
        with self._lock:
            self._requests.append(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "raw_query": query_raw.decode("latin-1"),
                }
            )
            delay = self._delay
        if delay > 0 and self._stopping.wait(delay):
            return
        with self._lock:
            fault = self._fault
            huge_bytes = self._huge_bytes
        head_only = method == "HEAD"
        host = handler.headers.get("Host")

        if fault == "hang":
            self._stopping.wait()
            return
        if fault == "reset":
            self._reset_connection(handler)
            return
        if fault == "500":
            answer = _Answer(500, ["Connection: close", "X-Powered-By: PHP/8.2.36", _CT_HTML], b"", False)
            answer.body = _HTML_500_PAGE.encode()
        elif fault == "empty":
            answer = _Answer(200, ["Connection: close", "X-Powered-By: PHP/8.2.36", _CT_HTML], b"", False)
        elif fault == "closed":
            answer = self._normal(b"closed")
        elif fault == "html":
            answer = self._normal(_HTML_WAF_PAGE.encode())
        elif fault == "ratelimit":
            answer = self._rate_limited(60)
        elif fault == "huge":
            self._send(handler, self._normal(b""), host, head_only=True)
            if not head_only:
                self._stream_huge(handler, huge_bytes)
            return
        else:
            answer = self._route(path, query)
            if fault == "bom" and answer.status == 200:
                answer.body = b"\xef\xbb\xbf" + answer.body
            elif fault == "truncated" and len(answer.body) > 1:
                answer.body = answer.body[: len(answer.body) * 2 // 3]
        self._send(handler, answer, host, head_only=head_only)

    @staticmethod
    def _drain_body(handler: _Handler) -> None:
        length = _php_intval(handler.headers.get("Content-Length", "0") or "0")
        if 0 < length <= 8 * 1024 * 1024:
            with contextlib.suppress(OSError):
                handler.rfile.read(length)

    @staticmethod
    def _normal(body: bytes, content_type: str = _CT_HTML) -> _Answer:
        return _Answer(200, ["Connection: close", "X-Powered-By: PHP/8.2.36", content_type], body, True)

    @staticmethod
    def _rate_limited(retry_after: int) -> _Answer:
        body = php_json_encode(
            {
                "code": 100429,
                "msg": f"请求过于频繁，请在 {retry_after} 秒后再试",
                "data": {"retry_after": retry_after},
            }
        )
        headers = [
            "Connection: close",
            "X-Powered-By: PHP/8.2.36",
            "Content-Type:application/json; charset=utf-8",
            f"Retry-After:{retry_after}",
        ]
        return _Answer(429, headers, body.encode(), False)

    def _send(self, handler: _Handler, answer: _Answer, host: str | None, *, head_only: bool) -> None:
        lines = [f"HTTP/1.1 {answer.status} {_STATUS_REASONS.get(answer.status, 'Unknown')}"]
        if host:
            lines.append(f"Host: {host}")
        lines.append(f"Date: {formatdate(usegmt=True)}")
        lines.extend(answer.headers)
        if answer.session:
            sid = secrets.token_hex(13)
            lines.extend(h.format(sid=sid) for h in _SESSION_HEADERS)
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
        if not head_only:
            data += answer.body
        with contextlib.suppress(OSError):
            handler.wfile.write(data)

    def _stream_huge(self, handler: _Handler, size: int) -> None:
        envelope = '{"code":1,"msg":"数据列表","page":1,"pagecount":1,"limit":20,"total":1,"list":[],"pad":"'
        prefix = envelope.encode()
        suffix = b'"}'
        if size < len(prefix) + len(suffix):
            prefix, suffix = b"", b""
        chunk = b"x" * 65536
        remaining = size - len(prefix) - len(suffix)
        try:
            handler.wfile.write(prefix)
            while remaining > 0:
                if self._stopping.is_set():
                    return
                part = chunk if remaining >= len(chunk) else chunk[:remaining]
                handler.wfile.write(part)
                remaining -= len(part)
            handler.wfile.write(suffix)
        except OSError:
            return

    @staticmethod
    def _reset_connection(handler: _Handler) -> None:
        try:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.rfile.close()
            handler.connection.close()
        except OSError:
            pass

    # ---- the maccms application ------------------------------------------------------------------------

    def _route(self, path: str, query: dict[str, str]) -> _Answer:
        if path != "/api.php" and not path.startswith("/api.php/"):
            body = (
                "<!doctype html><html><head><title>404 Not Found</title></head><body>"
                f"<h1>Not Found</h1><p>The requested resource <code>{path}</code> was not found on this "
                "server.</p></body></html>"
            ).encode("utf-8", errors="replace")
            return _Answer(404, ["Connection: close", "Content-Type: text/html; charset=UTF-8"], body, False)
        segments = [s for s in path[len("/api.php") :].split("/") if s]
        if len(segments) < 2 or segments[0].lower() != "provide" or segments[1].lower() != "vod":
            return self._normal(b"")  # unknown module/action: the exception is swallowed
        params = dict(query)
        pairs = segments[2:]
        for index in range(0, len(pairs), 2):
            params[pairs[index]] = pairs[index + 1] if index + 1 < len(pairs) else ""
        # maccms's XSS input filter strips HTML tags from every request parameter.
        params = {key: _STRIP_TAGS_RE.sub("", value) for key, value in params.items()}

        limit = self.search_rate_limit
        if limit is not None and params.get("wd", ""):
            max_n, window = limit
            now = time.monotonic()
            with self._lock:
                while self._search_times and self._search_times[0] <= now - window:
                    self._search_times.popleft()
                blocked = len(self._search_times) >= max_n
                if not blocked:
                    self._search_times.append(now)
            if blocked:
                return self._rate_limited(math.ceil(window))
        try:
            return self._normal(self._vod(params))
        except _EmptyBody:
            return self._normal(b"")

    def _vod(self, params: dict[str, str]) -> bytes:
        store = self._store  # an immutable snapshot; vod_hits updates swap in a new one
        ac = params.get("ac", "")
        full = ac in ("videolist", "detail")
        as_xml = params.get("at", "").strip().lower() == "xml"

        pg_raw = params.get("pg", "")
        if pg_raw == "":
            page = 1
        elif _PHP_NUMERIC_RE.fullmatch(pg_raw) and math.isfinite(float(pg_raw)):
            page = max(1, int(float(pg_raw)))
        else:
            raise _EmptyBody  # 'abc' ends up in LIMIT arithmetic; the error is swallowed
        pagesize = _php_intval(params.get("pagesize", ""))
        if pagesize < 1:
            pagesize = DEFAULT_PAGESIZE
        pagesize = min(pagesize, MAX_PAGESIZE)

        rows = self._filter(store, params)
        play_from = params.get("from", "")
        if params.get("sort_direction", "").strip().lower() == "asc":
            rows.reverse()
        total = len(rows)
        pagecount = math.ceil(total / pagesize) if total else 0
        page_rows = rows[(page - 1) * pagesize : page * pagesize]
        if play_from:
            page_rows = [_cut_play_groups(row, play_from) for row in page_rows]

        if as_xml:
            text = self._xml(page_rows, full, page, pagecount, pagesize, total)
        else:
            out: dict[str, Any] = {
                "code": 1,
                "msg": MSG_LIST,
                "page": page,
                "pagecount": pagecount,
                "limit": pagesize,
                "total": total,
                "list": [row if full else self._short(row) for row in page_rows],
            }
            if not full:
                out["class"] = [{key: c.get(key) for key in CLASS_KEYS} for c in self._classes]
            text = php_json_encode(out)
        body = mac_filter_tags(text).encode("utf-8", errors="replace")

        ids = params.get("ids", "").strip()
        if ac == "detail" and ids.isdigit():
            self._bump_hits(int(ids))
        return body

    @staticmethod
    def _filter(store: _Store, params: dict[str, str]) -> list[dict[str, Any]]:
        wd = _urldecode(params.get("wd", "").strip(" \t\n\r\0\x0b")).strip(" \t\n\r\0\x0b")
        ids_raw = params.get("ids", "").strip()
        wanted: set[int] | None = None
        if ids_raw:
            wanted = {_php_intval(p) for p in ids_raw.split(",") if _PHP_INT_PREFIX_RE.match(p)}
        t_raw = params.get("t", "")
        type_id = _php_intval(t_raw) if t_raw not in ("", "0") else None
        year = params.get("year", "").strip()
        year_range: tuple[int, int] | None = None
        if "-" in year.lstrip("-"):
            low, _, high = year.partition("-")
            year_range = (_php_intval(low), _php_intval(high))
        isend_raw = params.get("isend", "")
        isend = _php_intval(isend_raw) if isend_raw not in ("", "0") else None
        play_from = params.get("from", "")

        if wanted is not None:
            candidates = [store.items[store.by_id[i]] for i in wanted if i in store.by_id]
            candidates.sort(key=lambda row: store.by_id[_php_intval(_php_str(row.get("vod_id", 0)))])
        else:
            candidates = list(store.items)
        rows: list[dict[str, Any]] = []
        for row in candidates:
            if _php_intval(_php_str(row.get("vod_status", 1))) != 1:
                continue
            if type_id is not None and _php_intval(_php_str(row.get("type_id", 0))) != type_id:
                continue
            if wd and not _like(row.get("vod_name", ""), f"%{wd}%"):
                continue
            if year_range is not None:
                value = _php_str(row.get("vod_year", ""))
                if not value.strip() or not year_range[0] <= _php_intval(value) <= year_range[1]:
                    continue
            elif year and _php_str(row.get("vod_year", "")) != year:
                continue
            if isend is not None and _php_intval(_php_str(row.get("vod_isend", 0))) != isend:
                continue
            if play_from and not _like(row.get("vod_play_from", ""), f"%{play_from}%"):
                continue
            rows.append(row)
        return rows

    def _bump_hits(self, vod_id: int) -> None:
        with self._lock:
            store = self._store
            index = store.by_id.get(vod_id)
            if index is None:
                return
            row = dict(store.items[index])
            row["vod_hits"] = _php_intval(_php_str(row.get("vod_hits", 0))) + 1
            items = list(store.items)
            items[index] = row
            self._store = _Store(tuple(items), store.by_id)

    @staticmethod
    def _short(row: dict[str, Any]) -> dict[str, Any]:
        out = {key: row.get(key, "") for key in SHORT_KEYS}
        out["vod_play_from"] = _php_str(out["vod_play_from"]).replace("$$$", ",")
        out["type_is_vip_exclusive"] = row.get("type_is_vip_exclusive", 0)
        return out

    def _xml(
        self, rows: list[dict[str, Any]], full: bool, page: int, pagecount: int, pagesize: int, total: int
    ) -> str:
        parts = [
            '<?xml version="1.0" encoding="utf-8"?><rss version="5.1">',
            f'<list page="{page}" pagecount="{pagecount}" pagesize="{pagesize}" recordcount="{total}">',
        ]
        for row in rows:
            v = {key: _php_str(value) for key, value in row.items()}
            parts.append("<video>")
            parts.extend(_xml_field(tag, v.get(key, ""), cdata) for tag, key, cdata in _XML_COMMON)
            if full:
                parts.extend(_xml_field(tag, v.get(key, ""), cdata) for tag, key, cdata in _XML_DETAIL)
                parts.append("<dl>")
                urls = v.get("vod_play_url", "").split("$$$")
                for index, code in enumerate(v.get("vod_play_from", "").split("$$$")):
                    url = urls[index] if index < len(urls) else ""
                    parts.append(f'<dd flag="{code}"><![CDATA[{url}]]></dd>')
                parts.append("</dl>")
                parts.append(_xml_field("des", v.get("vod_content", ""), True))
            else:
                parts.append(_xml_field("dt", v.get("vod_play_from", "").replace("$$$", ","), False))
                parts.append(_xml_field("note", v.get("vod_remarks", ""), True))
            parts.append("</video>")
        parts.append("</list>")
        if not full:
            parts.append("<class>")
            for c in self._classes:
                if _php_intval(_php_str(c.get("type_mid", 1))) == 1:
                    parts.append(f'<ty id="{_php_str(c.get("type_id"))}">{_php_str(c.get("type_name"))}</ty>')
            parts.append("</class>")
        parts.append("</rss>")
        return "".join(parts)


# --------------------------------------------------------------------------------------------------------
# Fleet
# --------------------------------------------------------------------------------------------------------


def distinct_titles_items(index: int) -> list[dict[str, Any]]:
    """Dataset A with every title suffixed by the source number (``流浪星球 S03``): no cross-source merges."""
    items = dataset_a(include_unpublished=True)
    for item in items:
        item["vod_name"] = f"{item['vod_name']} S{index:02d}"
    return items


class FakeCmsFleet:
    """N fake sources; source ``i`` answers after ``base_ms + step_ms * i`` milliseconds.

    ``items_factory(i)`` gives the rows of source ``i`` (default: dataset A for all, so every source has the
    same titles; ``distinct_titles=True`` uses ``distinct_titles_items`` instead). Sources bind their ports
    at construction, so ``config_json()`` works before ``start()``.
    """

    def __init__(
        self,
        n: int,
        *,
        base_ms: float = 0,
        step_ms: float = 0,
        items_factory: Callable[[int], list[dict[str, Any]]] | None = None,
        distinct_titles: bool = False,
        key_prefix: str = "fake",
        cache_time: int = 7200,
    ) -> None:
        if items_factory is None and distinct_titles:
            items_factory = distinct_titles_items
        self.key_prefix = key_prefix
        self.cache_time = cache_time
        self.sources: list[FakeCms] = []
        try:
            for index in range(n):
                items = items_factory(index) if items_factory is not None else None
                self.sources.append(FakeCms(items, delay=(base_ms + step_ms * index) / 1000.0))
        except BaseException:
            self.stop()
            raise

    def key(self, index: int) -> str:
        return f"{self.key_prefix}{index:02d}"

    def start(self) -> FakeCmsFleet:
        for source in self.sources:
            source.start()
        return self

    def stop(self) -> None:
        for source in self.sources:
            source.stop()

    def __enter__(self) -> FakeCmsFleet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def config_json(self) -> dict[str, Any]:
        """A MoonTV ``config.json``: ``{"cache_time": ..., "api_site": {"fake00": {"api", "name"}, ...}}``."""
        return {
            "cache_time": self.cache_time,
            "api_site": {
                self.key(index): {"api": source.base_url, "name": f"Fake CMS {index:02d}"}
                for index, source in enumerate(self.sources)
            },
        }
