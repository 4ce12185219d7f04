"""HLS playlists: a faithful line-oriented parser and rewriter.

The rewriter keeps every line it does not have to change, byte for byte (apart from line
endings, which become ``\\n``). It can

- replace every URI (segment lines, variant lines, ``URI="..."`` attributes of
  ``EXT-X-KEY``/``EXT-X-MAP``/``EXT-X-MEDIA``/``EXT-X-I-FRAME-STREAM-INF``/``EXT-X-PART``/...)
  after resolving it against the playlist's final URL, and
- drop chosen media segments while keeping the playlist meaning of what stays: state tags
  (``EXT-X-KEY``, ``EXT-X-MAP``) of dropped segments stay in place, a dropped block's
  ``EXT-X-DISCONTINUITY`` moves to the next kept segment (and is dropped before the first one),
  byte ranges become explicit ``length@offset``, and AES-128 segments that relied on the
  implicit IV (their media sequence number) get an explicit IV, since dropping segments
  renumbers everything after them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

URI_ATTR_TAGS = (
    "#EXT-X-KEY:",
    "#EXT-X-SESSION-KEY:",
    "#EXT-X-MAP:",
    "#EXT-X-MEDIA:",
    "#EXT-X-I-FRAME-STREAM-INF:",
    "#EXT-X-PART:",
    "#EXT-X-PRELOAD-HINT:",
    "#EXT-X-RENDITION-REPORT:",
    "#EXT-X-SESSION-DATA:",
)
# Tags that describe only the next segment: they go when that segment goes.
PER_SEGMENT_TAGS = (
    "#EXTINF",
    "#EXT-X-BYTERANGE",
    "#EXT-X-PROGRAM-DATE-TIME",
    "#EXT-X-GAP",
    "#EXT-X-BITRATE",
    "#EXT-X-PART:",
    "#EXT-X-CUE",
    "#EXT-OATCLS-SCTE35",
    "#EXT-X-SCTE35",
    "#EXT-X-ASSET",
)


def _per_segment(tag: str) -> bool:
    return tag == "#EXT-X-DISCONTINUITY" or tag.startswith(PER_SEGMENT_TAGS)


# A name starts after a non-name character (lookbehind) and is taken whole (possessive): every
# start position is tried at most once, so a long line costs linear time, not quadratic.
_ATTR = re.compile(r'(?<![A-Z0-9-])([A-Z0-9-]++)=("[^"]*"|[^,]*)')
_URI_ATTR = re.compile(r'URI="([^"]*)"')

# kinds passed to the URI mapper
PLAYLIST, SEGMENT, KEY, MAP, OTHER = "playlist", "segment", "key", "map", "other"


class PlaylistError(ValueError):
    """Not an HLS playlist."""


class PlaylistTooLarge(PlaylistError):
    """Over one of the parse limits (bytes, line length, lines, segments); ``what`` says which."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True, slots=True)
class Limits:
    """What one playlist may cost to parse. The defaults are the settings' defaults."""

    max_bytes: int = 4 * 1024 * 1024
    max_line: int = 16 * 1024
    max_lines: int = 200_000
    max_segments: int = 50_000


def attributes(text: str) -> dict[str, str]:
    """``A=1,B="x,y"`` -> {"A": "1", "B": "x,y"} (quotes removed). Linear in ``len(text)``."""
    out = {}
    for name, value in _ATTR.findall(text):
        out[name] = value[1:-1] if value.startswith('"') and value.endswith('"') else value
    return out


@dataclass(slots=True)
class Key:
    method: str
    uri: str | None  # absolute
    iv: str | None
    line: int


@dataclass(slots=True)
class Segment:
    index: int
    sequence: int
    duration: float
    uri: str  # absolute
    line: int  # the URI line
    discontinuity: bool = False
    byterange: tuple[int, int] | None = None  # (length, absolute offset)
    key: Key | None = None
    map_uri: str | None = None  # absolute
    map_byterange: tuple[int, int] | None = None
    title: str = ""


@dataclass(slots=True)
class Variant:
    uri: str  # absolute
    bandwidth: int
    resolution: tuple[int, int] | None
    codecs: str
    line: int


@dataclass
class Playlist:
    base_url: str
    lines: list[str]
    is_master: bool = False
    segments: list[Segment] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    media_sequence: int = 0
    target_duration: float = 0.0
    endlist: bool = False
    playlist_type: str = ""

    @property
    def is_vod(self) -> bool:
        return self.endlist or self.playlist_type.upper() == "VOD"

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)

    def blocks(self) -> list[list[Segment]]:
        """Segments split at each ``EXT-X-DISCONTINUITY``."""
        out: list[list[Segment]] = []
        for segment in self.segments:
            if not out or segment.discontinuity:
                out.append([])
            out[-1].append(segment)
        return out


def looks_like_playlist(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U")


def decode(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    return text.lstrip("\ufeff")


def resolve(base: str, uri: str) -> str:
    uri = uri.strip()
    return urljoin(base, uri) if uri else uri


def check_limits(text: str, limits: Limits) -> None:
    """Raise PlaylistTooLarge before any per-line work when ``text`` is over ``limits``."""
    if len(text) > limits.max_bytes:
        raise PlaylistTooLarge("bytes")
    if text.count("\n") + text.count("\r") > 2 * limits.max_lines:
        raise PlaylistTooLarge("lines")
    pos = 0
    while True:  # the longest line, found with str.find (C speed) instead of splitting first
        nxt = text.find("\n", pos)
        stop = len(text) if nxt == -1 else nxt
        if stop - pos > limits.max_line and max(map(len, text[pos:stop].split("\r"))) > limits.max_line:
            raise PlaylistTooLarge("line")
        if nxt == -1:
            return
        pos = nxt + 1


def parse(text: str, base_url: str, limits: Limits | None = None) -> Playlist:
    """The parsed playlist; with ``limits``, PlaylistTooLarge as soon as one is passed."""
    if limits is not None:
        check_limits(text, limits)
    max_segments = limits.max_segments if limits is not None else None
    lines = text.lstrip("\ufeff").splitlines()
    if limits is not None and len(lines) > limits.max_lines:
        raise PlaylistTooLarge("lines")
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first.startswith("#EXTM3U"):
        raise PlaylistError("not an HLS playlist (#EXTM3U missing)")
    playlist = Playlist(base_url=base_url, lines=lines)
    duration: float | None = None
    title = ""
    discontinuity = False
    byterange: tuple[int, int | None] | None = None
    next_offset: dict[str, int] = {}
    key: Key | None = None
    map_uri: str | None = None
    map_range: tuple[int, int] | None = None
    stream_inf: dict[str, str] | None = None
    sequence = 0
    for number, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#EXTINF:"):
                value, _, title = line[8:].partition(",")
                try:
                    duration = float(value.strip() or 0)
                except ValueError:
                    duration = 0.0
                if duration != duration or duration < 0 or duration > 86400:
                    duration = 0.0
            elif line.startswith("#EXT-X-DISCONTINUITY") and not line.startswith("#EXT-X-DISCONTINUITY-"):
                discontinuity = True
            elif line.startswith("#EXT-X-BYTERANGE:"):
                length, _, offset = line[17:].partition("@")
                try:
                    byterange = (int(length), int(offset) if offset else None)
                except ValueError:
                    byterange = None
            elif line.startswith("#EXT-X-KEY:"):
                attrs = attributes(line[11:])
                method = attrs.get("METHOD", "NONE").upper()
                uri = attrs.get("URI")
                key = (
                    None
                    if method == "NONE"
                    else Key(method, resolve(base_url, uri) if uri else None, attrs.get("IV"), number)
                )
            elif line.startswith("#EXT-X-MAP:"):
                attrs = attributes(line[11:])
                map_uri = resolve(base_url, attrs.get("URI", "")) or None
                map_range = None
                if "BYTERANGE" in attrs:
                    length, _, offset = attrs["BYTERANGE"].partition("@")
                    try:
                        map_range = (int(length), int(offset or 0))
                    except ValueError:
                        map_range = None
            elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
                with contextlib.suppress(ValueError):
                    playlist.media_sequence = sequence = int(line[22:].strip())
            elif line.startswith("#EXT-X-TARGETDURATION:"):
                with contextlib.suppress(ValueError):
                    playlist.target_duration = float(line[22:].strip())
            elif line.startswith("#EXT-X-PLAYLIST-TYPE:"):
                playlist.playlist_type = line[21:].strip()
            elif line.startswith("#EXT-X-ENDLIST"):
                playlist.endlist = True
            elif line.startswith("#EXT-X-STREAM-INF:"):
                playlist.is_master = True
                stream_inf = attributes(line[18:])
            elif line.startswith(("#EXT-X-MEDIA:", "#EXT-X-I-FRAME-STREAM-INF:")):
                playlist.is_master = True
            continue
        # a URI line
        if stream_inf is not None:
            if max_segments is not None and len(playlist.variants) >= max_segments:
                raise PlaylistTooLarge("segments")
            playlist.variants.append(_variant(stream_inf, resolve(base_url, line), number))
            stream_inf = None
            continue
        if playlist.is_master:
            continue
        if max_segments is not None and len(playlist.segments) >= max_segments:
            raise PlaylistTooLarge("segments")
        absolute = resolve(base_url, line)
        segment = Segment(
            index=len(playlist.segments),
            sequence=sequence,
            duration=duration or 0.0,
            uri=absolute,
            line=number,
            discontinuity=discontinuity,
            key=key,
            map_uri=map_uri,
            map_byterange=map_range,
            title=title.strip(),
        )
        if byterange is not None:
            length, offset = byterange
            start = offset if offset is not None else next_offset.get(absolute, 0)
            segment.byterange = (length, start)
            next_offset[absolute] = start + length
        playlist.segments.append(segment)
        sequence += 1
        duration, title, discontinuity, byterange = None, "", False, None
    return playlist


def _variant(attrs: dict[str, str], uri: str, line: int) -> Variant:
    try:
        bandwidth = int(attrs.get("BANDWIDTH", "0"))
    except ValueError:
        bandwidth = 0
    resolution = None
    w, _, h = attrs.get("RESOLUTION", "").lower().partition("x")
    if w.isdigit() and h.isdigit():
        resolution = (int(w), int(h))
    return Variant(
        uri=uri, bandwidth=bandwidth, resolution=resolution, codecs=attrs.get("CODECS", ""), line=line
    )


UriMapper = Callable[[str, str], str]  # (kind, absolute uri) -> text to write


def _map_attr_uri(line: str, kind: str, base: str, mapper: UriMapper) -> str:
    def swap(match: re.Match[str]) -> str:
        return f'URI="{mapper(kind, resolve(base, match.group(1)))}"'

    return _URI_ATTR.sub(swap, line, count=1)


def _attr_kind(tag: str, is_master: bool) -> str:
    if tag in ("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:"):
        return KEY
    if tag == "#EXT-X-MAP:":
        return MAP
    if tag in ("#EXT-X-MEDIA:", "#EXT-X-I-FRAME-STREAM-INF:", "#EXT-X-RENDITION-REPORT:"):
        return PLAYLIST
    if tag in ("#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:"):
        return SEGMENT
    return OTHER


def rewrite(playlist: Playlist, mapper: UriMapper, remove: set[int] | frozenset[int] = frozenset()) -> str:
    """The playlist with every URI mapped and the segments in ``remove`` (indices) dropped."""
    base = playlist.base_url
    by_line = {s.line: s for s in playlist.segments}
    out: list[str] = []
    pending: list[str] = []  # tag lines since the last URI line
    carry_discontinuity = False
    kept_any = False
    removed_before = False
    explicit_ranges = bool(remove)
    stream_inf = False

    def tag_line(line: str) -> str:
        for tag in URI_ATTR_TAGS:
            if line.startswith(tag):
                return _map_attr_uri(line, _attr_kind(tag, playlist.is_master), base, mapper)
        return line

    for number, raw in enumerate(playlist.lines):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#EXT-X-STREAM-INF:"):
                stream_inf = True
            pending.append(tag_line(line))
            continue
        if playlist.is_master:
            out.extend(pending)
            pending = []
            out.append(mapper(PLAYLIST if stream_inf else OTHER, resolve(base, line)))
            stream_inf = False
            continue
        segment = by_line.get(number)
        if segment is None:  # a URI line the parser did not count (cannot happen in a media playlist)
            out.extend(pending)
            pending = []
            out.append(line)
            continue
        if segment.index in remove:
            removed_before = True
            for tag in pending:
                if tag == "#EXT-X-DISCONTINUITY":
                    carry_discontinuity = True
                elif not _per_segment(tag):
                    out.append(tag)  # header, state (KEY/MAP) and unknown tags keep their meaning
            pending = []
            continue
        has_disc = "#EXT-X-DISCONTINUITY" in pending
        if not kept_any and has_disc and removed_before:
            pending = [t for t in pending if t != "#EXT-X-DISCONTINUITY"]  # nothing before it any more
        elif carry_discontinuity and kept_any and not has_disc:
            insert_at = next((i for i, t in enumerate(pending) if t.startswith("#EXTINF")), len(pending))
            pending.insert(insert_at, "#EXT-X-DISCONTINUITY")
        carry_discontinuity = False
        if explicit_ranges and segment.byterange is not None:
            length, offset = segment.byterange
            pending = [
                f"#EXT-X-BYTERANGE:{length}@{offset}" if t.startswith("#EXT-X-BYTERANGE:") else t
                for t in pending
            ]
        if (
            removed_before
            and segment.key is not None
            and segment.key.method == "AES-128"
            and segment.key.iv is None
            and segment.key.uri is not None
        ):
            pending.append(
                f'#EXT-X-KEY:METHOD=AES-128,URI="{mapper(KEY, segment.key.uri)}",IV=0x{segment.sequence:032X}'
            )
        out.extend(pending)
        pending = []
        out.append(mapper(SEGMENT, segment.uri))
        kept_any = True
    out.extend(t for t in pending if t != "#EXT-X-DISCONTINUITY")
    return "\n".join(out) + "\n"


def identity(kind: str, uri: str) -> str:
    return uri
