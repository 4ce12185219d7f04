"""Parsing a danmu_api comment body (XML or JSON) into the compact list the player draws.

XML (bilibili style): ``<d p="time,mode,size,color,…">text</d>``.
JSON (dandanplay style): ``{"count": n, "comments": [{"cid": 1, "p": "time,mode,color,uid", "m": "text"}]}``.
Output rows are ``[time_seconds, mode, color, text]`` sorted by time; mode is 1 (scrolling), 4 (bottom) or
5 (top). The input is hostile: it is read with a regular expression (no entity expansion, no DTD), numbers
are range-checked, texts over ``MAX_TEXT`` characters are dropped (as the original does) and at most
``max_count`` rows are kept.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import orjson

MAX_TEXT = 100
MAX_TIME = 24 * 3600.0
WHITE = 0xFFFFFF
Comment = tuple[float, int, int, str]

_XML_ROW = re.compile(r'<d\s+p\s*=\s*"([^"]{1,200})"\s*>([^<]{0,2000})</d>')
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class CommentFormatError(ValueError):
    """The body is neither danmaku XML nor danmaku JSON."""


def _mode(value: str) -> int:
    try:
        mode = int(float(value))
    except ValueError:
        return 1
    return mode if mode in (4, 5) else 1


def _color(value: str) -> int:
    try:
        color = int(float(value))
    except ValueError:
        return WHITE
    return color if 0 <= color <= 0xFFFFFF else WHITE


def _row(time_text: str, mode_text: str, color_text: str, text: str) -> Comment | None:
    try:
        seconds = float(time_text)
    except ValueError:
        return None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_TIME:
        return None
    text = _CONTROL.sub("", text).strip()
    if not text or len(text) > MAX_TEXT:
        return None
    return (round(seconds, 2), _mode(mode_text), _color(color_text), text)


def parse_xml(text: str, max_count: int) -> list[Comment]:
    rows: list[Comment] = []
    for match in _XML_ROW.finditer(text):
        fields = match.group(1).split(",")
        if len(fields) < 4:
            continue
        row = _row(fields[0], fields[1], fields[3], html.unescape(match.group(2)))
        if row is not None:
            rows.append(row)
            if len(rows) >= max_count:
                break
    return rows


def parse_json(data: Any, max_count: int) -> list[Comment]:
    items = data.get("comments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise CommentFormatError("no comments list")
    rows: list[Comment] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        p, m = item.get("p"), item.get("m")
        if not isinstance(p, str) or not isinstance(m, str):
            continue
        fields = p.split(",")
        if len(fields) < 3:
            continue
        row = _row(fields[0], fields[1], fields[2], m)
        if row is not None:
            rows.append(row)
            if len(rows) >= max_count:
                break
    return rows


def parse_comments(body: bytes, max_count: int) -> list[Comment]:
    """Rows sorted by time, from either format (sniffed from the body, not the content type)."""
    head = body[:64].lstrip()
    if head.startswith((b"{", b"[")):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise CommentFormatError("invalid JSON") from None
        rows = parse_json(data, max_count)
    elif head.startswith(b"<"):
        rows = parse_xml(body.decode("utf-8", "replace"), max_count)
    else:
        raise CommentFormatError("neither XML nor JSON")
    rows.sort(key=lambda r: r[0])
    return rows
