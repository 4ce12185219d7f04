"""PTS / tfdt / SPS readers on real ffmpeg-made segments (checked against ffprobe)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from moontv.streams.media import (
    PTS_WRAP,
    is_mp4,
    pts_delta,
    read_media,
    read_mp4,
    read_mp4_fragment,
    read_mp4_init,
    read_ts,
    ts_sync_offset,
)

PREFIX = 16 * 1024


def ffprobe_first_video_time(path: Path) -> float:
    """The first video packet's PTS according to ffprobe (the reference)."""
    binary = shutil.which("ffprobe")
    assert binary, "ffprobe comes with the ffmpeg package"
    out = subprocess.run(
        [binary, "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
         "-read_intervals", "%+#1", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return float(json.loads(out)["packets"][0]["pts_time"])


@pytest.mark.parametrize(
    "name",
    [
        "clean/seg000.ts",
        "clean/seg003.ts",
        "clean/seg009.ts",
        "adsrc/seg000.ts",
        "adfar/seg001.ts",
        "ad720/seg002.ts",
    ],
)
def test_ts_pts_matches_ffprobe(hls_root: Path, name: str) -> None:
    path = hls_root / name
    info = read_ts(path.read_bytes()[:PREFIX])
    assert info.container == "ts"
    assert info.start == pytest.approx(ffprobe_first_video_time(path), abs=0.001)
    assert info.start_ticks is not None and info.start_ticks == round(info.start * 90000)


def test_ts_timeline_of_a_programme_advances_by_segment_duration(hls_root: Path) -> None:
    starts = [read_ts((hls_root / f"clean/seg{n:03d}.ts").read_bytes()[:PREFIX]).start for n in range(10)]
    assert all(s is not None for s in starts)
    gaps = [b - a for a, b in itertools.pairwise(starts)]  # type: ignore[operator]
    assert gaps == pytest.approx([2.0] * 9, abs=0.01)
    ad = read_ts((hls_root / "adsrc/seg000.ts").read_bytes()[:PREFIX])
    far = read_ts((hls_root / "adfar/seg000.ts").read_bytes()[:PREFIX])
    assert ad.start == pytest.approx(starts[0], abs=0.05)  # restarted timeline
    assert far.start is not None and far.start > 100


@pytest.mark.parametrize(
    ("name", "size"),
    [("clean/seg000.ts", (640, 360)), ("adsrc/seg001.ts", (640, 360)), ("ad720/seg000.ts", (1280, 720))],
)
def test_ts_h264_sps_size(hls_root: Path, name: str, size: tuple[int, int]) -> None:
    info = read_ts((hls_root / name).read_bytes()[:PREFIX])
    assert info.codec == "h264"
    assert (info.width, info.height) == size


def test_ts_behind_a_disguise_header(hls_root: Path) -> None:
    """Some CDNs prefix TS segments with a fake PNG header; sync must be found after it."""
    fake_png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3 + b"G" * 5
    data = fake_png + (hls_root / "clean/seg003.ts").read_bytes()[:PREFIX]
    assert ts_sync_offset(data) == len(fake_png)
    assert read_ts(data).start == pytest.approx(7.48, abs=0.01)


@pytest.mark.parametrize(
    "junk", [b"", b"G", b"\x00" * 5000, b"<html>not found</html>" * 100, bytes(range(256)) * 40]
)
def test_ts_junk_gives_nothing(junk: bytes) -> None:
    info = read_ts(junk)
    assert info.start is None and info.width is None


def test_ts_truncated_prefix_still_reads_pts(hls_root: Path) -> None:
    info = read_ts((hls_root / "clean/seg005.ts").read_bytes()[: 188 * 4])
    assert info.start == pytest.approx(11.48, abs=0.01)


def test_fmp4_init_and_tfdt(hls_root: Path) -> None:
    init = read_mp4_init((hls_root / "fmp4/init.mp4").read_bytes())
    video = init.video()
    assert video is not None and (video.width, video.height) == (640, 360) and video.timescale > 0
    assert any(t.kind == "soun" for t in init.tracks.values())
    starts = []
    for n in range(10):
        data = (hls_root / f"fmp4/seg{n:03d}.m4s").read_bytes()[:PREFIX]
        assert is_mp4(data)
        assert video.track_id in read_mp4_fragment(data)
        info = read_mp4(data, init)
        assert info.container == "fmp4" and info.resolution == "640x360"
        starts.append(info.start)
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx([2.0] * 9, abs=0.01)  # type: ignore[operator]
    ad = read_media(
        (hls_root / "fmp4ad/seg000.m4s").read_bytes()[:PREFIX], (hls_root / "fmp4ad/init.mp4").read_bytes()
    )
    assert ad.start == pytest.approx(starts[0], abs=0.05)


def test_fmp4_without_init_has_no_time() -> None:
    assert read_mp4(b"\x00\x00\x00\x08moof", None).start is None


def test_pts_delta_wraps_only_for_ts() -> None:
    period = PTS_WRAP / 90000
    assert pts_delta(1.0, period - 1.0, wrap=True) == pytest.approx(2.0)
    assert pts_delta(period - 1.0, 1.0, wrap=True) == pytest.approx(-2.0)
    assert pts_delta(1.0, period - 1.0, wrap=False) == pytest.approx(2.0 - period)
