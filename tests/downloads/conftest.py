"""Fixtures of the download tests: the ffmpeg-made HLS scenarios of the stream tests, plus an AES-128 copy
of the mid-roll scenario (programme segments with an explicit IV, ad segments with the sequence IV)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from moontv.aes import aes_cbc_encrypt
from tests.streams.hls_fixtures import PROGRAMME_SECONDS, build
from tests.streams.upstream import Upstream

KEY = bytes(range(16))
PROGRAMME_IV = "0x000102030405060708090a0b0c0d0e0f"
FRAME_RATE = 25


def _encrypted_copy(root: Path) -> None:
    out = root / "aes"
    out.mkdir()
    (out / "key.bin").write_bytes(KEY)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    key_line = {
        "clean": f'#EXT-X-KEY:METHOD=AES-128,URI="aes/key.bin",IV={PROGRAMME_IV}',
        "adsrc": '#EXT-X-KEY:METHOD=AES-128,URI="aes/key.bin"',
    }
    sequence = 0
    current = None
    for line in (root / "mid.m3u8").read_text().splitlines():
        if line.startswith(("#EXTM3U", "#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE")):
            continue
        if line.startswith("#EXT-X-PLAYLIST-TYPE"):
            continue
        if line and not line.startswith("#"):
            folder, name = line.split("/")
            if folder != current:
                lines.append(key_line[folder])
                current = folder
            iv = bytes.fromhex(PROGRAMME_IV[2:]) if folder == "clean" else sequence.to_bytes(16, "big")
            target = out / f"{folder}-{name}"
            target.write_bytes(aes_cbc_encrypt(KEY, iv, (root / folder / name).read_bytes()))
            lines.append(f"aes/{target.name}")
            sequence += 1
            continue
        lines.append(line)
    (root / "aesmid.m3u8").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.fail("the download tests need ffmpeg and ffprobe (scripts/bootstrap.sh --test installs them)")
    root = build(tmp_path_factory.mktemp("dl-hls"))
    _encrypted_copy(root)
    return root


@pytest.fixture
def cdn(media: Path) -> Iterator[Upstream]:
    with Upstream(media, cors=False) as server:
        yield server


def probe(path: Path) -> dict[str, float]:
    """Container duration, decoded video frames and the mean red level (an ad is solid red)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames:format=duration", "-of", "json", str(path)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    data = json.loads(out)
    return {
        "duration": float(data["format"]["duration"]),
        "frames": int(data["streams"][0]["nb_read_frames"]),
    }


def red_frames(path: Path) -> int:
    """Frames whose picture is (almost) solid red: the ad's colour, never in the testsrc2 programme."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "lavfi", "-i",
         f"movie={path},signalstats", "-show_entries", "frame_tags=lavfi.signalstats.VAVG",
         "-of", "json"],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    frames = json.loads(out).get("frames", [])
    # solid red in BT.601 limited range: V (Cr) about 240, far above the programme's mean
    return sum(1 for f in frames if float(f["tags"]["lavfi.signalstats.VAVG"]) > 200)


EXPECTED_FRAMES = int(PROGRAMME_SECONDS * FRAME_RATE)
