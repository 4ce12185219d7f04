"""Real HLS media made with ffmpeg at test time, and the ad-scenario playlists built from it.

Layout of the directory ``build(root)`` fills (all 2 s segments, H.264 + AAC):

- ``clean/``  20 s testsrc2 programme, 640x360 (10 segments), its own ``index.m3u8``
- ``adsrc/``  6 s solid red "ad" with a 1 kHz tone, encoded separately so its PTS restart
- ``adfar/``  the same ad with timestamps around 100 s (``-output_ts_offset 100``)
- ``ad720/``  a 1280x720 red ad (different resolution)
- ``fmp4/``, ``fmp4ad/``  the programme and the ad as fMP4 (``EXT-X-MAP`` init segments)

and the scenario playlists at the top level (see ``SCENARIOS``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROGRAMME_SECONDS = 20.0
AD_SECONDS = 6.0

_COMMON_V = [
    "-c:v", "libx264", "-profile:v", "main", "-preset", "veryfast", "-pix_fmt", "yuv420p",
    "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
]  # fmt: skip
_COMMON_A = ["-c:a", "aac", "-b:a", "64k", "-ac", "2"]


@dataclass(frozen=True)
class Scenario:
    name: str
    has_ad: bool
    ad_blocks: int  # blocks that must be removed
    ad_seconds: float  # seconds that must be removed
    description: str


SCENARIOS = [
    Scenario("clean", False, 0, 0.0, "20 s programme, no discontinuity"),
    Scenario("mid", True, 1, 6.0, "6 s ad after 6 s, PTS restart at the ad"),
    Scenario("far", True, 1, 6.0, "6 s ad after 6 s, ad PTS around 100 s"),
    Scenario("preroll", True, 1, 6.0, "6 s ad before the programme"),
    Scenario("postroll", True, 1, 6.0, "6 s ad after the programme"),
    Scenario("res", True, 1, 6.0, "6 s 1280x720 ad inside a 640x360 programme"),
    Scenario("splice", False, 0, 0.0, "one harmless discontinuity, PTS continuous"),
    Scenario("fmp4mid", True, 1, 6.0, "fMP4: 6 s ad after 6 s, own init segment"),
    Scenario("multi", True, 2, 12.0, "pre-roll and a mid-roll ad"),
]


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise RuntimeError("ffmpeg is not installed (apt-get install ffmpeg)")
    return path


def _run(args: list[str]) -> None:
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def _encode(
    out: Path,
    source: str,
    seconds: float,
    tone: int,
    *,
    size: str,
    rate: str,
    fmp4: bool = False,
    offset: float = 0,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    video = f"{source}:size={size}:rate=25" if "=" in source else f"{source}=size={size}:rate=25"
    args = [
        "-f", "lavfi", "-i", video,
        "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000",
        "-t", str(seconds), *_COMMON_V, "-b:v", rate, *_COMMON_A,
    ]  # fmt: skip
    if offset:
        args += ["-output_ts_offset", str(offset)]
    args += ["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    if fmp4:
        args += ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4"]
        args += ["-hls_segment_filename", str(out / "seg%03d.m4s")]
    else:
        args += ["-hls_segment_filename", str(out / "seg%03d.ts")]
    _run([*args, str(out / "index.m3u8")])


def _segments(folder: Path) -> list[tuple[float, str]]:
    """(duration, file name) from an ffmpeg-written media playlist."""
    out = []
    duration = None
    for line in (folder / "index.m3u8").read_text().splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#") and duration is not None:
            out.append((duration, line))
            duration = None
    return out


def _playlist(
    blocks: list[tuple[str, list[tuple[float, str]]]], *, maps: dict[str, str] | None = None
) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7" if maps else "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2"]
    lines += ["#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for n, (folder, segs) in enumerate(blocks):
        if n:
            lines.append("#EXT-X-DISCONTINUITY")
        if maps and folder in maps:
            lines.append(f'#EXT-X-MAP:URI="{maps[folder]}"')
        for duration, name in segs:
            lines.append(f"#EXTINF:{duration:.6f},")
            lines.append(f"{folder}/{name}")
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def build(root: Path) -> Path:
    """Encode the media and write every scenario playlist into ``root``; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    _encode(root / "clean", "testsrc2", PROGRAMME_SECONDS, 440, size="640x360", rate="500k")
    _encode(root / "adsrc", "color=c=red", AD_SECONDS, 1000, size="640x360", rate="200k")
    _encode(root / "adfar", "color=c=red", AD_SECONDS, 1000, size="640x360", rate="200k", offset=100)
    _encode(root / "ad720", "color=c=red", AD_SECONDS, 1000, size="1280x720", rate="300k")
    _encode(root / "fmp4", "testsrc2", PROGRAMME_SECONDS, 440, size="640x360", rate="500k", fmp4=True)
    _encode(root / "fmp4ad", "color=c=red", AD_SECONDS, 1000, size="640x360", rate="200k", fmp4=True)
    clean = _segments(root / "clean")
    ad = _segments(root / "adsrc")
    far = _segments(root / "adfar")
    ad720 = _segments(root / "ad720")
    fm = _segments(root / "fmp4")
    fmad = _segments(root / "fmp4ad")
    (root / "clean.m3u8").write_text(_playlist([("clean", clean)]))
    (root / "mid.m3u8").write_text(_playlist([("clean", clean[:3]), ("adsrc", ad), ("clean", clean[3:])]))
    (root / "far.m3u8").write_text(_playlist([("clean", clean[:3]), ("adfar", far), ("clean", clean[3:])]))
    (root / "preroll.m3u8").write_text(_playlist([("adsrc", ad), ("clean", clean)]))
    (root / "postroll.m3u8").write_text(_playlist([("clean", clean), ("adsrc", ad)]))
    (root / "res.m3u8").write_text(_playlist([("clean", clean[:3]), ("ad720", ad720), ("clean", clean[3:])]))
    (root / "splice.m3u8").write_text(_playlist([("clean", clean[:5]), ("clean", clean[5:])]))
    maps = {"fmp4": "fmp4/init.mp4", "fmp4ad": "fmp4ad/init.mp4"}
    (root / "fmp4mid.m3u8").write_text(
        _playlist([("fmp4", fm[:3]), ("fmp4ad", fmad), ("fmp4", fm[3:])], maps=maps)
    )
    (root / "multi.m3u8").write_text(
        _playlist([("adsrc", ad), ("clean", clean[:4]), ("adfar", far), ("clean", clean[4:])])
    )
    (root / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"\n'
        "mid.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240\n"
        "sub/../clean.m3u8\n"
    )
    return root
