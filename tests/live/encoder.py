"""A real live HLS stream for the tests: ffmpeg encodes a test picture in real time into a
sliding-window playlist (``-hls_list_size``, ``delete_segments``), served WITHOUT CORS by the
stream tests' static upstream, so a browser can only play it through our live proxy."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.streams.upstream import Upstream

SEGMENT_SECONDS = 1
LIST_SIZE = 4


class LiveEncoder:
    def __init__(
        self, folder: Path, *, segment_seconds: int = SEGMENT_SECONDS, list_size: int = LIST_SIZE
    ) -> None:
        self.folder = folder
        self.segment_seconds = segment_seconds
        self.list_size = list_size
        self.process: subprocess.Popen[bytes] | None = None
        self.server = Upstream(folder.parent, cors=False)
        self.playlist_url = f"{self.server.url}/{folder.name}/index.m3u8"

    def start(self, *, ready_segments: int = 3, timeout: float = 60.0) -> LiveEncoder:
        if shutil.which("ffmpeg") is None:
            raise RuntimeError("ffmpeg is required (scripts/apt-test-packages.txt)")
        self.folder.mkdir(parents=True, exist_ok=True)
        gop = 25 * self.segment_seconds
        self.process = subprocess.Popen(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
                "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                "-c:v", "libx264", "-profile:v", "main", "-preset", "ultrafast", "-tune", "zerolatency",
                "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
                "-b:v", "300k", "-c:a", "aac", "-b:a", "48k", "-ac", "2",
                "-f", "hls", "-hls_time", str(self.segment_seconds), "-hls_list_size", str(self.list_size),
                "-hls_flags", "delete_segments+temp_file",
                "-hls_segment_filename", str(self.folder / "seg%05d.ts"),
                str(self.folder / "index.m3u8"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        self.server.start()
        deadline = time.monotonic() + timeout
        playlist = self.folder / "index.m3u8"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ffmpeg exited: {self.process.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
            if playlist.exists() and playlist.read_text().count("#EXTINF") >= ready_segments:
                return self
            time.sleep(0.2)
        raise RuntimeError("the live encoder produced no playlist in time")

    def media_sequence(self) -> int:
        for line in (self.folder / "index.m3u8").read_text().splitlines():
            if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
                return int(line.split(":", 1)[1])
        return 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.server.stop()

    def __enter__(self) -> LiveEncoder:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
