"""What to download: the media playlist behind an episode URL (the best variant of a master playlist),
minus the segments our ad analysis removes, as a list that is stored once and never re-derived (so a
download resumed after a restart appends exactly the bytes the first run would have)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from moontv.streams.playlist import Playlist, PlaylistError, parse
from moontv.streams.service import SourceOptions, StreamService, UpstreamError

MAX_SEGMENTS = 20_000


class PlanError(Exception):
    """The episode cannot be downloaded (message for the user)."""


@dataclass(frozen=True)
class PlannedSegment:
    uri: str
    duration: float
    sequence: int
    byterange: tuple[int, int] | None = None  # (length, offset)
    key_uri: str | None = None  # AES-128 key; None = clear
    iv: str | None = None  # hex from the playlist; None = the media sequence number
    map_uri: str | None = None
    map_byterange: tuple[int, int] | None = None


@dataclass(frozen=True)
class Plan:
    playlist_url: str
    segments: list[PlannedSegment]
    duration: float
    removed_seconds: float
    container: str  # "ts", or "mp4" for fMP4 streams (EXT-X-MAP)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "segments": [asdict(s) for s in self.segments]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        segments = []
        for raw in data["segments"]:
            item = dict(raw)
            for name in ("byterange", "map_byterange"):
                if item.get(name) is not None:
                    item[name] = (int(item[name][0]), int(item[name][1]))
            segments.append(PlannedSegment(**item))
        return cls(
            playlist_url=str(data["playlist_url"]),
            segments=segments,
            duration=float(data["duration"]),
            removed_seconds=float(data["removed_seconds"]),
            container=str(data["container"]),
        )


async def _fetch(streams: StreamService, url: str, opts: SourceOptions) -> tuple[str, str, Playlist]:
    try:
        final, text = await streams.fetch_playlist(url, opts)
        return final, text, parse(text, final)
    except UpstreamError as exc:
        raise PlanError(exc.message) from None
    except PlaylistError:
        raise PlanError("上游返回的不是 m3u8 播放列表") from None


async def make_plan(streams: StreamService, url: str, opts: SourceOptions) -> Plan:
    """Raises PlanError (or BlockedURL for a refused destination)."""
    final, text, playlist = await _fetch(streams, url, opts)
    if playlist.is_master:
        if not playlist.variants:
            raise PlanError("主播放列表没有可用的码率")
        best = max(playlist.variants, key=lambda v: v.bandwidth)
        url = best.uri
        final, text, playlist = await _fetch(streams, url, opts)
        if playlist.is_master:
            raise PlanError("播放列表嵌套过深")
    if not playlist.is_vod:
        raise PlanError("直播流无法下载")
    if not playlist.segments:
        raise PlanError("播放列表没有分片")
    if len(playlist.segments) > MAX_SEGMENTS:
        raise PlanError("播放列表分片过多")
    remove: frozenset[int] = frozenset()
    removed_seconds = 0.0
    if opts.ad_filter:
        decision, _ = await streams.decide(url, playlist, text, opts)
        remove = decision.remove
        removed_seconds = decision.removed_seconds
    segments = []
    for segment in playlist.segments:
        if segment.index in remove:
            continue
        key = segment.key
        encrypted = key is not None and key.method.upper() == "AES-128"
        if key is not None and key.method.upper() not in ("NONE", "AES-128"):
            raise PlanError(f"不支持的加密方式 {key.method}")
        if encrypted and key is not None and not key.uri:
            raise PlanError("加密分片缺少密钥地址")
        segments.append(
            PlannedSegment(
                uri=segment.uri,
                duration=segment.duration,
                sequence=segment.sequence,
                byterange=segment.byterange,
                key_uri=key.uri if encrypted and key is not None else None,
                iv=key.iv if encrypted and key is not None else None,
                map_uri=segment.map_uri,
                map_byterange=segment.map_byterange,
            )
        )
    container = "mp4" if any(s.map_uri for s in segments) else "ts"
    return Plan(
        playlist_url=final,
        segments=segments,
        duration=round(sum(s.duration for s in segments), 3),
        removed_seconds=round(removed_seconds, 3),
        container=container,
    )
