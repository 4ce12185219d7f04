"""Server-side ad detection for HLS media playlists (see docs/ads.md for the full story).

1. The playlist is split into blocks at ``EXT-X-DISCONTINUITY``.
2. For each block the first and the last segment are probed with a small HTTP Range read
   and the media start time is read (MPEG-TS PTS, fMP4 ``tfdt``), plus the video size.
3. The *programme* is the longest (by playlist duration) chain of blocks whose timelines
   continue each other: block j continues block i when j's first timestamp equals i's last
   segment timestamp plus that segment's duration (within a tolerance; 33-bit wrap handled).
4. A block outside the programme is removed when
   - it is *bracketed*: programme blocks before and after it continue each other across it
     (the programme's clock skipped the block, so the block is not programme), and its own
     timestamp does not continue the programme; or
   - it sits at the start or end (pre-/post-roll), its timeline does not lead into / follow
     the programme, it is short, and at least one more piece of evidence agrees: a different
     host or directory, a different resolution, a different segment-duration pattern, or an
     ad-like URL.
5. Anything unclear fails open: live playlists, failed probes, a programme that covers less
   than half of the playlist, or removals that would be too long leave the playlist as it is.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from moontv.streams.media import MediaInfo, Mp4Init, is_mp4, pts_delta, read_mp4, read_mp4_init, read_ts
from moontv.streams.playlist import Playlist, Segment

# Fetch ``length`` bytes of ``url`` from ``offset`` (a Range read); may return fewer bytes.
Fetcher = Callable[[str, int, int], Awaitable[bytes]]
# Decrypt a prefix of an AES-128 segment: (segment, data) -> plaintext (or raises).
Decryptor = Callable[[Segment, bytes], Awaitable[bytes]]

FIRST_PROBE_BYTES = 16 * 1024
LAST_PROBE_BYTES = 12 * 1024
INIT_PROBE_BYTES = 64 * 1024
INIT_MAX_BYTES = 256 * 1024  # an EXT-X-MAP BYTERANGE longer than this is read only this far
MAX_BLOCKS = 120
MAX_ANALYSED_SEGMENTS = 20_000
SHORT_BLOCK_SECONDS = 120.0
SHORT_BLOCK_SHARE = 0.25
MAX_BRACKETED_SECONDS = 300.0
MAX_REMOVED_SHARE = 0.5
MIN_PROGRAMME_SHARE = 0.5
AD_URL = re.compile(
    r"(?i)(/ads?/|/adv/|/adjump|advert|sponsor|guanggao|redtraffic|/preroll|/midroll|/commercial)"
)


@dataclass(slots=True)
class Block:
    index: int
    segments: list[Segment]
    start: float  # position in the playlist, seconds
    duration: float
    count: int = 0  # segments in the block (``segments`` keeps only the edges once compacted)
    first: MediaInfo | None = None
    last: MediaInfo | None = None
    probe_error: str | None = None
    verdict: str = "keep"  # "programme", "ad", "keep"
    evidence: list[str] = field(default_factory=list)

    @property
    def first_segment(self) -> Segment:
        return self.segments[0]

    @property
    def last_segment(self) -> Segment:
        return self.segments[-1]

    def locations(self) -> set[tuple[str, str]]:
        out = set()
        for segment in self.segments:
            parts = urlsplit(segment.uri)
            out.add((parts.netloc.lower(), parts.path.rsplit("/", 1)[0]))
        return out

    def median_segment(self) -> float:
        return statistics.median(s.duration for s in self.segments) if self.segments else 0.0

    def describe(self) -> dict[str, Any]:
        def media(info: MediaInfo | None) -> dict[str, Any] | None:
            if info is None:
                return None
            return {
                "container": info.container,
                "start": None if info.start is None else round(info.start, 3),
                "resolution": info.resolution,
                "codec": info.codec,
            }

        return {
            "index": self.index,
            "segments": self.count or len(self.segments),
            "firstSegment": self.first_segment.index,
            "start": round(self.start, 3),
            "duration": round(self.duration, 3),
            "firstUrl": self.first_segment.uri,
            "first": media(self.first),
            "last": media(self.last),
            "probeError": self.probe_error,
            "verdict": self.verdict,
            "evidence": self.evidence,
        }


@dataclass(slots=True)
class Decision:
    status: str  # "no-discontinuity", "removed", "kept", "skipped"
    reason: str = ""
    blocks: list[Block] = field(default_factory=list)
    remove: frozenset[int] = frozenset()  # segment indices
    elapsed_ms: float = 0.0
    probes: int = 0

    @property
    def removed_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.verdict == "ad"]

    @property
    def removed_seconds(self) -> float:
        return sum(b.duration for b in self.removed_blocks)

    def header(self) -> str:
        return f"{len(self.removed_blocks)} blocks, {self.removed_seconds:.3f} seconds"

    def compact(self) -> Decision:
        """This decision keeping only each block's edge segments (what a cached decision needs)."""
        for block in self.blocks:
            if len(block.segments) > 2:
                block.segments = [block.segments[0], block.segments[-1]]
        return self

    def weight(self) -> int:
        """Approximate bytes held (for the byte-sized decision cache)."""
        return 512 + 1024 * len(self.blocks) + 64 * len(self.remove)

    def describe(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "removedBlocks": len(self.removed_blocks),
            "removedSeconds": round(self.removed_seconds, 3),
            "removedSegments": sorted(self.remove),
            "elapsedMs": round(self.elapsed_ms, 1),
            "probes": self.probes,
            "blocks": [b.describe() for b in self.blocks],
        }


def split_blocks(playlist: Playlist) -> list[Block]:
    blocks = []
    position = 0.0
    for number, segments in enumerate(playlist.blocks()):
        duration = sum(s.duration for s in segments)
        blocks.append(
            Block(index=number, segments=segments, start=position, duration=duration, count=len(segments))
        )
        position += duration
    return blocks


# -- classification (pure) --------------------------------------------------------------------


def _tolerance(segment_duration: float) -> float:
    return max(1.0, 0.25 * segment_duration)


def continues(before: Block, after: Block) -> bool | None:
    """Does ``after``'s timeline start where ``before``'s ends? None when a probe is missing."""
    last, first = before.last, after.first
    if last is None or first is None or last.start is None or first.start is None:
        return None
    if last.container != first.container:
        return False
    expected = last.start + before.last_segment.duration
    delta = pts_delta(first.start, expected, wrap=first.container == "ts")
    return abs(delta) <= _tolerance(before.last_segment.duration)


def _programme_chain(blocks: list[Block]) -> list[int]:
    """Indices of the longest chain of mutually continuing blocks (by playlist duration)."""
    usable = [b for b in blocks if b.first is not None and b.first.start is not None]
    best: dict[int, float] = {}
    prev: dict[int, int | None] = {}
    for j, bj in enumerate(usable):
        best[j] = bj.duration
        prev[j] = None
        for i in range(j):
            if continues(usable[i], bj) and best[i] + bj.duration > best[j]:
                best[j] = best[i] + bj.duration
                prev[j] = i
    if not best:
        return []
    end: int | None = max(best, key=lambda k: (best[k], -k))
    chain = []
    while end is not None:
        chain.append(usable[end].index)
        end = prev[end]
    return sorted(chain)


def _mode(values: list[str]) -> str | None:
    return statistics.mode(values) if values else None


def classify(blocks: list[Block]) -> tuple[str, str]:
    """Set each block's verdict/evidence; returns (status, reason). Pure: no I/O."""
    total = sum(b.duration for b in blocks)
    if len(blocks) < 2:
        return "no-discontinuity", "the playlist has no discontinuity"
    chain = _programme_chain(blocks)
    if not chain:
        return "kept", "no block could be probed"
    in_chain = set(chain)
    programme = [blocks[i] for i in chain]
    programme_seconds = sum(b.duration for b in programme)
    for block in programme:
        block.verdict = "programme"
    if len(chain) == len(blocks):
        return "kept", "every block continues one programme timeline"
    if total <= 0 or programme_seconds < MIN_PROGRAMME_SHARE * total:
        for block in blocks:
            if block.index not in in_chain:
                block.evidence.append("no dominant programme timeline")
        return "kept", "no continuous programme covers half of the playlist"

    locations: set[tuple[str, str]] = set().union(*(b.locations() for b in programme))
    resolutions = [b.first.resolution for b in programme if b.first and b.first.resolution]
    programme_resolution = _mode(resolutions)
    programme_segment = statistics.median(s.duration for b in programme for s in b.segments)

    for block in blocks:
        if block.index in in_chain:
            continue
        evidence = block.evidence
        if block.first is None or block.first.start is None:
            evidence.append("probe failed: " + (block.probe_error or "no timestamp"))
            continue
        before = [i for i in chain if i < block.index]
        after = [i for i in chain if i > block.index]
        extra = []
        if not (block.locations() & locations):
            extra.append("different host or directory")
        if programme_resolution and block.first.resolution and block.first.resolution != programme_resolution:
            extra.append(f"resolution {block.first.resolution} vs {programme_resolution}")
        if (
            programme_segment > 0
            and abs(block.median_segment() - programme_segment) > 0.3 * programme_segment
        ):
            extra.append(f"segment length {block.median_segment():g} s vs {programme_segment:g} s")
        if any(AD_URL.search(s.uri) for s in block.segments):
            extra.append("ad-like URL")
        if before and after:
            anchor = blocks[before[-1]]
            if continues(anchor, block):
                evidence.append("timeline continues the programme")
                continue
            evidence.append(
                f"programme timeline continues across it (block {before[-1]} -> block {after[0]})"
            )
            evidence.append("timestamp does not continue the programme")
            evidence.extend(extra)
            if block.duration > MAX_BRACKETED_SECONDS:
                evidence.append(f"too long for an ad ({block.duration:.0f} s)")
                continue
            block.verdict = "ad"
            continue
        # pre-roll (programme after it) or post-roll (programme before it)
        outside = blocks[: block.index] if after else blocks[block.index + 1 :]
        if any(b.first is None or b.first.start is None for b in outside):
            evidence.append("a block between it and the playlist edge could not be probed")
            continue
        if after:
            link = continues(block, blocks[after[0]])
            position = "before the programme"
        else:
            link = continues(blocks[before[-1]], block)
            position = "after the programme"
        if link is None:
            evidence.append(f"{position}; last segment could not be probed")
            continue
        if link:
            evidence.append(f"{position}; timeline continues the programme")
            continue
        evidence.append(f"{position}; timeline does not continue the programme")
        short = block.duration <= SHORT_BLOCK_SECONDS and block.duration <= SHORT_BLOCK_SHARE * total
        if not short:
            evidence.append(f"not short ({block.duration:.0f} s)")
            continue
        evidence.append(f"short ({block.duration:.1f} s)")
        evidence.extend(extra)
        if extra:
            block.verdict = "ad"
        else:
            evidence.append("no corroborating evidence")

    removed = sum(b.duration for b in blocks if b.verdict == "ad")
    if removed > MAX_REMOVED_SHARE * total:
        for block in blocks:
            if block.verdict == "ad":
                block.verdict = "keep"
                block.evidence.append("not removed: would remove over half of the playlist")
        return "kept", "removal would cut over half of the playlist"
    if removed > 0:
        return "removed", ""
    return "kept", "no block with clear ad evidence"


# -- probing -----------------------------------------------------------------------------------


class Prober:
    """Reads start times of block edges with Range requests, bounded concurrency, init cache."""

    def __init__(
        self,
        fetch: Fetcher,
        *,
        concurrency: int = 8,
        decrypt: Decryptor | None = None,
        limiter: asyncio.Semaphore | None = None,
    ) -> None:
        self.fetch = fetch
        self.decrypt = decrypt
        self.local = asyncio.Semaphore(concurrency)
        self.limiter = limiter  # shared across requests (server-wide cap)
        self.inits: dict[tuple[str, tuple[int, int] | None], asyncio.Task[Mp4Init | None]] = {}
        self.count = 0

    async def _read(self, url: str, offset: int, length: int) -> bytes:
        async with self.local:
            if self.limiter is not None:
                async with self.limiter:
                    self.count += 1
                    return await self.fetch(url, offset, length)
            self.count += 1
            return await self.fetch(url, offset, length)

    async def _init(self, segment: Segment) -> Mp4Init | None:
        if segment.map_uri is None:
            return None
        key = (segment.map_uri, segment.map_byterange)
        task = self.inits.get(key)
        if task is None:
            offset, length = (
                (segment.map_byterange[1], min(segment.map_byterange[0], INIT_MAX_BYTES))
                if segment.map_byterange
                else (0, INIT_PROBE_BYTES)
            )
            task = asyncio.ensure_future(self._parse_init(segment.map_uri, offset, length))
            self.inits[key] = task
        return await task

    async def _parse_init(self, url: str, offset: int, length: int) -> Mp4Init | None:
        data = await self._read(url, offset, length)
        init = read_mp4_init(data)
        return init if init.tracks else None

    async def probe(self, segment: Segment, length: int) -> MediaInfo:
        offset = 0
        if segment.byterange is not None:
            offset = segment.byterange[1]
            length = min(length, segment.byterange[0])
        data = await self._read(segment.uri, offset, length)
        if segment.key is not None:
            if segment.key.method != "AES-128" or self.decrypt is None:
                raise ProbeError(f"encrypted ({segment.key.method})")
            data = await self.decrypt(segment, data[: len(data) - len(data) % 16])
        if segment.map_uri is not None or is_mp4(data):
            return read_mp4(data, await self._init(segment))
        return read_ts(data)


class ProbeError(Exception):
    pass


def skipped(reason: str) -> Decision:
    """A decision that leaves the playlist as it is without looking at it."""
    return Decision("skipped", reason)


async def _probe_block(prober: Prober, block: Block) -> None:
    try:
        block.first = await prober.probe(block.first_segment, FIRST_PROBE_BYTES)
        if block.first.start is None:
            block.probe_error = "no timestamp in the first segment"
            return
        if len(block.segments) == 1:
            block.last = block.first
        else:
            block.last = await prober.probe(block.last_segment, LAST_PROBE_BYTES)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure of one probe only makes that block unknown
        block.probe_error = f"{type(exc).__name__}: {exc}"[:200]


async def analyse(
    playlist: Playlist,
    prober: Prober,
    *,
    deadline: float = 8.0,
    clock: Callable[[], float] = time.perf_counter,
) -> Decision:
    """Probe and classify; never raises for upstream trouble (fails open instead)."""
    started = clock()
    blocks = split_blocks(playlist)

    def done(status: str, reason: str = "") -> Decision:
        remove = frozenset(s.index for b in blocks if b.verdict == "ad" for s in b.segments)
        return Decision(status, reason, blocks, remove, (clock() - started) * 1000, prober.count)

    if len(blocks) < 2:
        return done("no-discontinuity", "the playlist has no discontinuity")
    if not playlist.is_vod:
        return done("skipped", "live playlist (no EXT-X-ENDLIST): not analysed")
    if len(blocks) > MAX_BLOCKS:
        return done("skipped", f"{len(blocks)} discontinuity blocks (over {MAX_BLOCKS}): not analysed")
    tasks = [asyncio.ensure_future(_probe_block(prober, b)) for b in blocks]
    _finished, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
        for block in blocks:
            if block.first is None and block.probe_error is None:
                block.probe_error = "probe deadline passed"
    status, reason = classify(blocks)
    return done(status, reason)
