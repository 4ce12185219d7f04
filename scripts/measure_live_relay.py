#!/usr/bin/env python3
"""Server RSS while N viewers watch one live channel through the live proxy.

Starts a real live HLS encoder (ffmpeg, 1 s segments, sliding window, no CORS on its server), the
app as its own process (``python -m moontv serve``) with that channel as a live source, then N
viewer loops that each do what hls.js does: reload ``/api/proxy/live`` every target duration and
download every new segment through ``/api/proxy/segment``. The app's RSS (VmRSS) is sampled every
0.5 s. Prints one JSON line.

    .venv/bin/python scripts/measure_live_relay.py --viewers 10 --seconds 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _viewer(base: str, cookie: str, channel: str, stop: float, stats: dict[str, int]) -> None:
    seen: set[str] = set()
    async with httpx.AsyncClient(base_url=base, cookies={"auth": cookie}, timeout=20) as client:
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                answer = await client.get("/api/proxy/live", params={"source": "bench", "url": channel})
                answer.raise_for_status()
                stats["playlists"] += 1
                for line in answer.text.splitlines():
                    if line and not line.startswith("#") and line not in seen:
                        seen.add(line)
                        async with client.stream("GET", "/api/proxy/" + line) as segment:
                            segment.raise_for_status()
                            async for chunk in segment.aiter_bytes():
                                stats["bytes"] += len(chunk)
                        stats["segments"] += 1
            except httpx.HTTPError:
                stats["errors"] += 1
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def _run(base: str, pid: int, channel: str, viewers: int, seconds: float) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        login = await client.post("/api/login", json={"username": "admin", "password": "bench"})
        login.raise_for_status()
        cookie = login.cookies["auth"]
        warm = await client.get(
            "/api/proxy/live", params={"source": "bench", "url": channel}, cookies={"auth": cookie}
        )
        warm.raise_for_status()
    await asyncio.sleep(1)
    idle = _rss_kib(pid)
    stats = {"playlists": 0, "segments": 0, "bytes": 0, "errors": 0}
    stop = time.monotonic() + seconds
    samples: list[int] = []

    async def sample() -> None:
        while time.monotonic() < stop:
            samples.append(_rss_kib(pid))
            await asyncio.sleep(0.5)

    await asyncio.gather(sample(), *(_viewer(base, cookie, channel, stop, stats) for _ in range(viewers)))
    return {
        "viewers": viewers,
        "seconds": seconds,
        "idleRssMiB": round(idle / 1024, 1),
        "p50RssMiB": round(statistics.median(samples) / 1024, 1),
        "maxRssMiB": round(max(samples) / 1024, 1),
        "growthMiB": round((max(samples) - idle) / 1024, 1),
        "relayedMiB": round(stats["bytes"] / 2**20, 1),
        **{k: v for k, v in stats.items() if k != "bytes"},
        "samples": len(samples),
        "loadAverage": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=40)
    args = parser.parse_args()
    from tests.live.encoder import LiveEncoder

    work = Path(tempfile.mkdtemp(prefix="moontv-relay-"))
    with LiveEncoder(work / "media" / "bench") as encoder:
        (work / "media" / "list.m3u").write_text(f"#EXTM3U\n#EXTINF:-1,Bench\n{encoder.playlist_url}\n")
        listing = f"{encoder.server.url}/list.m3u"
        config = work / "config.json"
        config.write_text(json.dumps({"lives": {"bench": {"name": "Bench", "url": listing}}}))
        port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "MOONTV_PASSWORD": "bench",
            "MOONTV_CONFIG": str(config),
            "MOONTV_DATA_DIR": str(work / "data"),
            "MOONTV_PORT": str(port),
            "MOONTV_ALLOW_PRIVATE_UPSTREAMS": "127.0.0.1",
            "MOONTV_REFRESH_INTERVAL": "0",
            "MOONTV_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen([sys.executable, "-m", "moontv", "serve", "--host", "127.0.0.1"], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            result = asyncio.run(_run(base, server.pid, encoder.playlist_url, args.viewers, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=15)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
