"""A tolerant, bounded parser for IPTV playlists: M3U/M3U8 (``#EXTINF``) and the TXT format.

TXT is the format of many Chinese subscriptions: ``分组,#genre#`` starts a group and every
``name,url`` line is a channel (several URLs separated by ``#``). Both formats end up as the
same ``Channel`` list; a channel listed several times (same normalised name) becomes one channel
with alternative URLs, in the order they were listed.

Hostile input is bounded: bytes (``MAX_BYTES``), lines, line length, channels, URLs per channel.
Nothing here raises on bad input; junk lines are skipped.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

MAX_BYTES = 8 * 1024 * 1024
MAX_LINES = 200_000
MAX_LINE_CHARS = 8192
MAX_CHANNELS = 20_000
MAX_URLS_PER_CHANNEL = 32
MAX_EPG_URLS = 8
MAX_NAME_CHARS = 200
DEFAULT_GROUP = "未分组"

WEB_SCHEMES = ("http://", "https://")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]{0,15}://\S")
_TXT_SPLIT = re.compile(r",\s*(?=[a-zA-Z][a-zA-Z0-9+.\-]{0,15}://)")
_ATTR = re.compile(r"""([A-Za-z][\w\-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s,"']+))""")
_NORM_DROP = re.compile(r"[\s\-_·•.|/\\()（）\[\]【】「」]+")
_QUALITY = re.compile(r"(?:uhd|fhd|hd|sd|4k|8k|1080[pi]?|720p|576[pi]|高清|超清|标清|蓝光|频道|台)+$")
CATCHUP_ATTRS = ("catchup", "catchup-source", "catchup-days", "catchup-type")


@dataclass(slots=True)
class Channel:
    name: str
    group: str = DEFAULT_GROUP
    tvg_id: str = ""
    tvg_name: str = ""
    logo: str = ""
    urls: list[str] = field(default_factory=list)
    catchup: dict[str, str] = field(default_factory=dict)
    user_agent: str = ""
    referer: str = ""

    @property
    def id(self) -> str:
        """Stable across refreshes (favourites and health results refer to it)."""
        return hashlib.sha1(normalise(self.name).encode()).hexdigest()[:12]

    @property
    def web_urls(self) -> list[str]:
        return [u for u in self.urls if web_playable(u)]


@dataclass(slots=True)
class ParsedPlaylist:
    channels: list[Channel]
    epg_urls: list[str]
    format: str  # "m3u" | "txt"
    truncated: bool = False  # a limit cut the input short
    _urls: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def has_url(self, url: str) -> bool:
        if self._urls is None:
            self._urls = frozenset(u for c in self.channels for u in c.urls)
        return url in self._urls

    def find(self, *, channel_id: str = "", tvg_id: str = "", name: str = "") -> Channel | None:
        if channel_id:
            return next((c for c in self.channels if c.id == channel_id), None)
        if tvg_id:
            hit = next((c for c in self.channels if c.tvg_id == tvg_id), None)
            if hit is not None:
                return hit
            name = name or tvg_id  # Selene sends the name when a channel has no tvg-id
        if name:
            key = normalise(name)
            return next((c for c in self.channels if normalise(c.name) == key), None)
        return None


def web_playable(url: str) -> bool:
    """Browsers can only fetch http(s); rtmp/rtsp/udp/rtp/p2p stay for the TV apps."""
    return url[:8].lower().startswith(WEB_SCHEMES)


def normalise(name: str) -> str:
    """``CCTV-1 综合`` and ``cctv1综合`` are the same channel."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return _NORM_DROP.sub("", text) or text.strip()


def match_key(name: str) -> str:
    """``normalise`` without trailing quality words (``CCTV1 HD`` matches the guide's ``CCTV1``)."""
    key = normalise(name)
    stripped = _QUALITY.sub("", key)
    return stripped or key


def decode(body: bytes) -> str:
    """UTF-8 (with or without BOM, also UTF-16 with BOM), else GB18030 (a superset of GBK/GB2312)."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    elif body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")


def looks_like_m3u(text: str) -> bool:
    head = text.lstrip("\ufeff \t\r\n")[:64].upper()
    return head.startswith("#EXTM3U") or "#EXTINF" in text[:65536].upper()


def parse(body: bytes | str, *, max_bytes: int = MAX_BYTES) -> ParsedPlaylist:
    truncated = False
    if isinstance(body, bytes):
        if len(body) > max_bytes:  # cut at a line end: a half line could be a half URL
            body, truncated = body[: body.rfind(b"\n", 0, max_bytes) + 1], True
        text = decode(body).lstrip("\ufeff")
    else:
        if len(body) > max_bytes:
            body, truncated = body[: body.rfind("\n", 0, max_bytes) + 1], True
        text = body.lstrip("\ufeff")
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        lines, truncated = lines[:MAX_LINES], True
    builder = _Builder()
    if looks_like_m3u(text):
        _parse_m3u(lines, builder)
        fmt = "m3u"
    else:
        _parse_txt(lines, builder)
        fmt = "txt"
    return ParsedPlaylist(
        channels=builder.channels,
        epg_urls=builder.epg_urls,
        format=fmt,
        truncated=truncated or builder.truncated,
    )


class _Builder:
    """Collects channels, merging duplicates by normalised name."""

    def __init__(self) -> None:
        self.channels: list[Channel] = []
        self.by_name: dict[str, Channel] = {}
        self.epg_urls: list[str] = []
        self.truncated = False

    def add_epg(self, value: str) -> None:
        for part in value.split(","):
            url = part.strip()
            if url and _SCHEME.match(url) and url not in self.epg_urls and len(self.epg_urls) < MAX_EPG_URLS:
                self.epg_urls.append(url)

    def add(self, channel: Channel, urls: list[str]) -> None:
        clean = [u for u in (_clean_url(u) for u in urls) if u]
        channel.name = _clean_name(channel.name)
        if not clean or not channel.name:
            return
        key = normalise(channel.name)
        existing = self.by_name.get(key)
        if existing is None:
            if len(self.channels) >= MAX_CHANNELS:
                self.truncated = True
                return
            existing = channel
            self.by_name[key] = channel
            self.channels.append(channel)
        else:
            for attr in ("tvg_id", "tvg_name", "logo", "user_agent", "referer"):
                if not getattr(existing, attr) and getattr(channel, attr):
                    setattr(existing, attr, getattr(channel, attr))
            for k, v in channel.catchup.items():
                existing.catchup.setdefault(k, v)
        for url in clean:
            if url not in existing.urls and len(existing.urls) < MAX_URLS_PER_CHANNEL:
                existing.urls.append(url)


def _clean_name(name: str) -> str:
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:MAX_NAME_CHARS]


def _clean_url(url: str) -> str:
    url = url.strip()
    if "$" in url:  # DIYP-style line labels: ``http://host/a.m3u8$线路1``
        url = url.split("$", 1)[0].strip()
    if not _SCHEME.match(url) or len(url) > 4096 or any(c.isspace() for c in url):
        return ""
    return url


def _split_extinf(rest: str) -> tuple[str, str]:
    """``-1 tvg-id="a" group-title="x,y",Name, with comma`` -> (attribute text, name).

    The name starts after the first comma outside quotes, so commas inside attribute values
    and inside the name are both kept.
    """
    quote = ""
    for i, ch in enumerate(rest):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            return rest[:i], rest[i + 1 :]
    return rest, ""


def _attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        name = match.group(1).lower()
        value = next((g for g in match.group(2, 3, 4) if g is not None), "")
        out.setdefault(name, value.strip())
    return out


def _parse_m3u(lines: list[str], builder: _Builder) -> None:
    pending: Channel | None = None
    extgrp = ""
    for raw in lines:
        if len(raw) > MAX_LINE_CHARS:
            continue
        line = raw.strip()
        if not line:
            continue
        upper = line[:16].upper()
        if upper.startswith("#EXTM3U"):
            attrs = _attributes(line[7:])
            for name in ("x-tvg-url", "url-tvg", "tvg-url"):
                if attrs.get(name):
                    builder.add_epg(attrs[name])
            continue
        if upper.startswith("#EXTINF"):
            attr_text, name = _split_extinf(line.partition(":")[2])
            attrs = _attributes(attr_text)
            name = name.strip() or attrs.get("tvg-name", "")
            pending = Channel(
                name=name,
                group=attrs.get("group-title") or extgrp or DEFAULT_GROUP,
                tvg_id=attrs.get("tvg-id", ""),
                tvg_name=attrs.get("tvg-name", ""),
                logo=attrs.get("tvg-logo", ""),
                catchup={k: attrs[k] for k in CATCHUP_ATTRS if attrs.get(k)},
            )
            extgrp = ""
            continue
        if upper.startswith("#EXTGRP:"):  # the group of one entry (before or after its #EXTINF)
            if pending is not None:
                if pending.group == DEFAULT_GROUP and line[8:].strip():
                    pending.group = line[8:].strip()
            else:
                extgrp = line[8:].strip()
            continue
        if upper.startswith("#EXTVLCOPT:"):
            option, _, value = line[11:].partition("=")
            option = option.strip().lower()
            if pending is not None and option == "http-user-agent":
                pending.user_agent = value.strip()[:512]
            elif pending is not None and option in ("http-referrer", "http-referer"):
                pending.referer = value.strip()[:1024]
            continue
        if line.startswith("#"):
            continue  # #KODIPROP, #EXT-X-..., comments: never end a pending channel
        if pending is not None:
            builder.add(pending, line.split("#") if "#" in line and _multi_url(line) else [line])
            pending = None
        if builder.truncated:
            return


def _multi_url(line: str) -> bool:
    """``url1#url2`` (TXT style) as opposed to a URL with a fragment."""
    return any(_SCHEME.match(part.strip()) for part in line.split("#")[1:])


def _parse_txt(lines: list[str], builder: _Builder) -> None:
    group = DEFAULT_GROUP
    for raw in lines:
        if len(raw) > MAX_LINE_CHARS:
            continue
        line = raw.strip()
        if not line or line.startswith(("//", ";")):
            continue
        head, sep, tail = line.rpartition(",")
        if sep and tail.strip().lower() == "#genre#":
            group = head.strip() or DEFAULT_GROUP
            continue
        match = _TXT_SPLIT.search(line)
        if match is None:
            continue
        name = line[: match.start()]
        urls = line[match.end() :].split("#")
        builder.add(Channel(name=name, group=group), urls)
        if builder.truncated:
            return
