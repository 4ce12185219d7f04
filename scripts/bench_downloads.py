#!/usr/bin/env python3
"""Server-side download benchmark: one 1-hour episode (1800 x 2 s H.264/AAC segments, 1280x720 at about
1.5 Mbit/s, encoded once by ffmpeg and repeated) from a local HTTP server, downloaded by the real app
started with ``python -m moontv serve``; a one-episode Apple CMS on loopback names the stream.

Reported per run: wall time from ``POST /api/downloads`` to done, throughput, the file size, and the
server's resident memory (RSS) idle before the download and its peak (VmHWM) by the end.

Usage: python scripts/bench_downloads.py [--runs 1] [--segments 1800] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/cms"):
            body = json.dumps(self.server.cms).encode()  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_media(root: Path, segments: int) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
         "-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "1500k", "-g", "50",
         "-keyint_min", "50", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "96k", "-f", "hls",
         "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_filename", str(root / "s%d.ts"),
         str(root / "ten.m3u8")],
        check=True,
    )  # fmt: skip
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for n in range(segments):
        lines += ["#EXTINF:2.000000,", f"s{n % 5}.ts?n={n}"]
    (root / "hour.m3u8").write_text("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n")


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def run_once(work: Path, media_url: str, cms_url: str) -> dict[str, Any]:
    data = work / f"data-{time.monotonic_ns()}"
    config = work / "config.json"
    config.write_text(json.dumps({"api_site": {"bench": {"api": cms_url, "name": "bench"}}}))
    port = free_port()
    env = {
        **os.environ, "MOONTV_PASSWORD": "bench", "MOONTV_CONFIG": str(config),
        "MOONTV_DATA_DIR": str(data), "MOONTV_PORT": str(port), "MOONTV_HOST": "127.0.0.1",
        "MOONTV_ALLOW_PRIVATE_UPSTREAMS": "127.0.0.1/32",
        "MOONTV_SECRET_KEY": "b" * 40, "MOONTV_DOWNLOAD_QUOTA_MB": "100000", "PYTHONPATH": str(ROOT / "src"),
    }  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "moontv", "serve"], env=env, cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        client = httpx.Client(base_url=base, timeout=30, trust_env=False)
        client.post("/api/login", json={"username": "admin", "password": "bench"}).raise_for_status()
        idle = rss_kb(proc.pid, "VmRSS")
        started = time.monotonic()
        task = client.post("/api/downloads", json={"source": "bench", "id": "1", "episode": 0})
        task.raise_for_status()
        while True:
            listing = client.get("/api/downloads").json()["tasks"][0]
            if listing["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        seconds = time.monotonic() - started
        if listing["status"] != "done":
            raise RuntimeError(listing["error"])
        return {
            "seconds": round(seconds, 2), "bytes": listing["size"],
            "mb_per_s": round(listing["size"] / seconds / 1048576, 1), "duration_s": listing["duration"],
            "rss_idle_mb": round(idle / 1024, 1), "rss_peak_mb": round(rss_kb(proc.pid, "VmHWM") / 1024, 1),
        }  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(data, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--segments", type=int, default=1800)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        media = work / "media"
        media.mkdir()
        make_media(media, args.segments)
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(media)))
        server.daemon_threads = True
        port = server.server_address[1]
        url = f"http://127.0.0.1:{port}"
        server.cms = {  # type: ignore[attr-defined]
            "code": 1, "page": 1, "pagecount": 1, "limit": "20", "total": 1,
            "list": [{"vod_id": 1, "vod_name": "一小时", "type_name": "剧集", "vod_year": "2024",
                      "vod_play_from": "m3u8", "vod_play_url": f"第1集${url}/hour.m3u8",
                      "vod_pic": "", "vod_content": ""}],
        }  # fmt: skip
        threading.Thread(target=server.serve_forever, daemon=True).start()
        results = [run_once(work, url, f"{url}/cms") for _ in range(args.runs)]
        server.shutdown()
    load = os.getloadavg()
    summary = {
        "runs": results, "load_average": [round(x, 2) for x in load],
        "p50_mb_per_s": statistics.median(r["mb_per_s"] for r in results),
        "p50_rss_peak_mb": statistics.median(r["rss_peak_mb"] for r in results),
    }  # fmt: skip
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
