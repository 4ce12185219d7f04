"""Programme guides: streamed XMLTV (plain or gzip) and DIYP per-channel JSON.

XMLTV is parsed incrementally with expat while the bytes arrive, so a 200 MB guide is never
held in memory: only programmes of channels that the playlist has, inside a window of days,
are kept (``scripts/measure_live_epg.py`` measures the peak). Entity declarations are refused
and external entities/DTDs are never loaded (no entity expansion, the defusedxml rules).

Matching, per XMLTV channel id: a playlist ``tvg-id`` equal to it, else a playlist channel
whose name matches (``match_key``) one of the guide's ``display-name`` values or the id itself.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from xml.parsers import expat

from moontv.live.playlist import Channel, match_key

MAX_COMPRESSED_BYTES = 256 * 1024 * 1024
MAX_XML_BYTES = 1024 * 1024 * 1024
MAX_PROGRAMMES_PER_CHANNEL = 600
MAX_PROGRAMMES = 300_000
MAX_GUIDE_CHANNELS = 100_000
MAX_TEXT = 512
MAX_DEPTH = 32
DECOMPRESS_STEP = 256 * 1024

_TIME = re.compile(
    r"^\s*(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?\s*(?:([+-])(\d{2}):?(\d{2})|Z|UTC|GMT)?"
)


class EpgError(ValueError):
    """The guide is not usable (malformed XML, a refused construct, a limit)."""


@dataclass(slots=True, frozen=True)
class Programme:
    start: datetime  # timezone-aware, in the guide's own offset
    end: datetime
    title: str
    desc: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "start": xmltv_time(self.start),
            "end": xmltv_time(self.end),
            "startTs": int(self.start.timestamp() * 1000),
            "endTs": int(self.end.timestamp() * 1000),
            "title": self.title,
            "desc": self.desc,
        }


def xmltv_time(value: datetime) -> str:
    """``20251021235000 +0900``, the guide's own wall time and offset (what TV apps display)."""
    return value.strftime("%Y%m%d%H%M%S %z")


def parse_time(text: str, default_tz: timezone = UTC) -> datetime | None:
    """XMLTV ``YYYYMMDDhhmmss +hhmm`` (seconds, minutes, hours and the offset optional)."""
    match = _TIME.match(text or "")
    if match is None:
        return None
    y, mo, d, h, mi, s, sign, oh, om = match.groups()
    tz = default_tz
    if sign:
        minutes = int(oh) * 60 + int(om)
        if minutes >= 24 * 60:
            return None
        tz = timezone(timedelta(minutes=minutes if sign == "+" else -minutes))
    elif text.strip().endswith(("Z", "UTC", "GMT")):
        tz = UTC
    try:
        return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=tz)
    except ValueError:
        return None


@dataclass
class Wanted:
    """Which guide channels to keep: the playlist's tvg-ids and names, mapped to channel ids."""

    by_tvg_id: dict[str, list[str]] = field(default_factory=dict)
    by_name: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_channels(cls, channels: Iterable[Channel]) -> Wanted:
        wanted = cls()
        for channel in channels:
            if channel.tvg_id:
                wanted.by_tvg_id.setdefault(channel.tvg_id, []).append(channel.id)
            for name in {channel.name, channel.tvg_name} - {""}:
                ids = wanted.by_name.setdefault(match_key(name), [])
                if channel.id not in ids:
                    ids.append(channel.id)
        return wanted

    def lookup(self, guide_id: str, display_names: Iterable[str]) -> list[str]:
        hit = self.by_tvg_id.get(guide_id)
        if hit:
            return hit
        for name in (*display_names, guide_id):
            hit = self.by_name.get(match_key(name))
            if hit:
                return hit
        return []


class XmltvStream:
    """Feed XMLTV bytes (gzip detected by its magic); read ``programmes`` at the end."""

    def __init__(self, wanted: Wanted, *, window_start: datetime, window_end: datetime) -> None:
        self.wanted = wanted
        self.window_start = window_start
        self.window_end = window_end
        self.programmes: dict[str, list[Programme]] = {}
        self.total = 0
        self.guide_channels = 0
        self.xml_bytes = 0
        self.compressed_bytes = 0
        self._names: dict[str, list[str]] = {}  # guide channel id -> display names (wanted only)
        self._resolved: dict[str, list[str]] = {}
        self._inflater: Any = None
        self._sniffed = False
        self._stack: list[str] = []
        self._text: list[str] | None = None
        self._channel_id = ""
        self._prog: dict[str, Any] | None = None
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.UseForeignDTD(False)
        parser.EntityDeclHandler = self._refuse_entity
        parser.ExternalEntityRefHandler = self._refuse_external
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        parser.buffer_text = True
        self._parser = parser

    # -- input -----------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.compressed_bytes += len(chunk)
        if self.compressed_bytes > MAX_COMPRESSED_BYTES:
            raise EpgError("guide too large")
        if not self._sniffed:
            self._sniffed = True
            if chunk[:2] == b"\x1f\x8b":
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._inflater is None:
            self._parse(chunk)
            return
        data = chunk
        while data:
            out = self._inflater.decompress(data, DECOMPRESS_STEP)
            self._parse(out)
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                rest = self._inflater.unused_data
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # concatenated members
                data = rest if rest[:2] == b"\x1f\x8b" else b""

    def close(self) -> dict[str, list[Programme]]:
        self._parse(b"", final=True)
        for items in self.programmes.values():
            items.sort(key=lambda p: p.start)
        return self.programmes

    def _parse(self, data: bytes, *, final: bool = False) -> None:
        self.xml_bytes += len(data)
        if self.xml_bytes > MAX_XML_BYTES:
            raise EpgError("guide too large")
        try:
            self._parser.Parse(data, final)
        except expat.ExpatError as exc:
            raise EpgError(f"malformed XMLTV: {exc}") from None

    # -- expat handlers --------------------------------------------------------------------

    def _refuse_entity(self, *args: Any) -> None:
        raise EpgError("entity declarations are not allowed")

    def _refuse_external(self, *args: Any) -> int:
        raise EpgError("external entities are not allowed")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self._stack.append(name)
        depth = len(self._stack)
        if depth > MAX_DEPTH:
            raise EpgError("XMLTV nested too deeply")
        if depth == 2 and name == "channel":
            self._channel_id = attrs.get("id", "")[:MAX_TEXT]
            self.guide_channels += 1
            if self.guide_channels <= MAX_GUIDE_CHANNELS:
                self._names.setdefault(self._channel_id, [])
        elif depth == 2 and name == "programme":
            targets = self._targets(attrs.get("channel", "")[:MAX_TEXT])
            if targets:
                self._prog = {"targets": targets, "start": attrs.get("start", ""), "stop": attrs.get("stop")}
        elif depth == 3 and self._collects(name):
            self._text = []

    def _collects(self, name: str) -> bool:
        if name == "display-name":
            return self._stack[1] == "channel"
        return name in ("title", "desc") and self._prog is not None and name not in self._prog

    def _chars(self, data: str) -> None:
        if self._text is not None and sum(map(len, self._text)) < MAX_TEXT:
            self._text.append(data)

    def _end(self, name: str) -> None:
        depth = len(self._stack)
        self._stack.pop()
        if self._text is not None and depth == 3:
            text = "".join(self._text).strip()[:MAX_TEXT]
            self._text = None
            if name == "display-name":
                names = self._names.get(self._channel_id)
                if names is not None and text and len(names) < 8:
                    names.append(text)
            elif self._prog is not None:
                self._prog[name] = text
        elif depth == 2 and name == "programme" and self._prog is not None:
            self._keep(self._prog)
            self._prog = None

    def _targets(self, guide_id: str) -> list[str]:
        hit = self._resolved.get(guide_id)
        if hit is None:
            hit = self.wanted.lookup(guide_id, self._names.get(guide_id, ()))
            if len(self._resolved) < MAX_GUIDE_CHANNELS:
                self._resolved[guide_id] = hit
        return hit

    def _keep(self, prog: dict[str, Any]) -> None:
        start = parse_time(prog["start"])
        end = parse_time(prog["stop"] or "")
        title = prog.get("title") or ""
        if start is None or not title:
            return
        if end is None or end <= start:
            end = start + timedelta(minutes=30)
        if end < self.window_start or start > self.window_end:
            return
        item = Programme(start=start, end=end, title=title, desc=prog.get("desc", ""))
        for channel_id in prog["targets"]:
            items = self.programmes.setdefault(channel_id, [])
            if len(items) >= MAX_PROGRAMMES_PER_CHANNEL or self.total >= MAX_PROGRAMMES:
                continue
            items.append(item)
            self.total += 1


def parse_xmltv(
    chunks: Iterable[bytes], wanted: Wanted, *, window_start: datetime, window_end: datetime
) -> dict[str, list[Programme]]:
    stream = XmltvStream(wanted, window_start=window_start, window_end=window_end)
    for chunk in chunks:
        stream.feed(chunk)
    return stream.close()


# -- DIYP ---------------------------------------------------------------------------------------

DIYP_TZ = timezone(timedelta(hours=8))
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def is_diyp(url: str) -> bool:
    """A per-channel guide URL: ``...?ch={name}&date={date}`` or one ending in ``ch=``."""
    return "{name}" in url or bool(re.search(r"[?&]ch=$", url))


def diyp_url(template: str, name: str, day: date) -> str:
    from urllib.parse import quote

    if "{name}" in template:
        return template.replace("{name}", quote(name, safe="")).replace("{date}", day.isoformat())
    return f"{template}{quote(name, safe='')}&date={day.isoformat()}"


def parse_diyp(data: Any, day: date, tz: timezone = DIYP_TZ) -> list[Programme]:
    """``{"epg_data": [{"start": "00:00", "end": "01:00", "title": "..."}]}`` for one day."""
    items = data.get("epg_data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    out: list[Programme] = []
    for item in items[:MAX_PROGRAMMES_PER_CHANNEL]:
        if not isinstance(item, dict):
            continue
        title = item.get("title")
        start = _clock(item.get("start"), day, tz)
        end = _clock(item.get("end"), day, tz)
        if not isinstance(title, str) or not title.strip() or start is None:
            continue
        if end is None:
            end = start + timedelta(minutes=30)
        elif end <= start:
            end += timedelta(days=1)  # crosses midnight
        desc = item.get("desc") if isinstance(item.get("desc"), str) else ""
        out.append(Programme(start=start, end=end, title=title.strip()[:MAX_TEXT], desc=desc[:MAX_TEXT]))
    out.sort(key=lambda p: p.start)
    return out


def _clock(value: Any, day: date, tz: timezone) -> datetime | None:
    if not isinstance(value, str):
        return None
    match = _CLOCK.match(value)
    if match is None:
        return None
    h, m, s = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if h > 24 or m > 59 or s > 59:
        return None
    base = datetime(day.year, day.month, day.day, tzinfo=tz)
    return base + timedelta(hours=h, minutes=m, seconds=s)


def now_next(programmes: list[Programme], now: datetime) -> tuple[Programme | None, Programme | None]:
    current = nxt = None
    for item in programmes:
        if item.start <= now < item.end:
            current = item
        elif item.start >= now:
            nxt = item
            break
    return current, nxt
