#!/usr/bin/env python3
"""Normal use under the resource limits: search and the playlist proxy, timed over real HTTP.

Starts the server as a subprocess (``python -m moontv serve``) with default limits against
local upstreams and prints p50/p90 latencies:

- ``search``: ``/api/search`` over 4 sources x 5 pages of ordinary series (40 episodes each),
  each query new (cold cache) and then repeated (warm cache);
- ``proxy 1h``: ``/api/proxy/m3u8`` on a 1-hour media playlist (1800 segments with the
  slightly varying durations an encoder writes, 6 discontinuity blocks), fetched, parsed,
  analysed (its probes fail fast and the analysis fails open) and rewritten;
- ``parse 1h``: the bounded parse entry point alone, in process.

``--src DIR`` runs another source tree's server (e.g. an export of an older commit) for a
before/after comparison; the load average is printed with the numbers.

Usage: python scripts/bench_bounded.py [--runs 20] [--src path/to/src]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.abuse.harness import ServerProcess  # noqa: E402
from tests.abuse.hostile import SlowCms  # noqa: E402
from tests.streams.upstream import Canned, Upstream  # noqa: E402


def one_hour_playlist() -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:3", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for n in range(1800):
        if n and n % 300 == 0:
            lines.append("#EXT-X-DISCONTINUITY")
        duration = 2.002 if n % 3 else 1.960  # an encoder's cut points at 29.97 fps
        lines += [f"#EXTINF:{duration:.3f},", f"https://cdn.example.com/v/1080p/seg-{n:05d}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms   (n={len(ordered)})"


def timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--src", type=Path, help="source tree whose server to run (default: this one)")
    args = parser.parse_args()
    if args.src:
        os.environ["MOONTV_ABUSE_SRC"] = str(args.src.resolve())
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; runs {args.runs}")
    playlist = one_hour_playlist()
    with (
        tempfile.TemporaryDirectory() as tmp,
        SlowCms(4, pagecount=5, per_page=20, episodes=40) as cms,
        Upstream(None) as upstream,
    ):
        upstream.canned["/1h.m3u8"] = Canned(
            body=playlist, headers={"Content-Type": "application/vnd.apple.mpegurl"}
        )
        server = ServerProcess(
            Path(tmp),
            cms.sites(),
            MOONTV_ALLOW_PRIVATE_UPSTREAMS="127.0.0.1/32",
            MOONTV_SEARCH_RATE_LIMIT="100000",
        ).start()
        try:
            client = server.login()
            cold, warm, proxy = [], [], []
            for n in range(args.runs):
                query = {"q": f"剧{n}"}
                cold.append(timed(lambda q=query: client.get("/api/search", params=q).raise_for_status()))
                warm.append(timed(lambda q=query: client.get("/api/search", params=q).raise_for_status()))
                params = {"url": f"{upstream.url}/1h.m3u8", "source": f"bench{n}"}
                proxy.append(
                    timed(lambda p=params: client.get("/api/proxy/m3u8", params=p).raise_for_status())
                )
            print(f"search cold (4 sources x 5 pages)  {percentiles(cold)}")
            print(f"search warm                         {percentiles(warm)}")
            print(f"proxy 1h playlist (1800 segments)   {percentiles(proxy)}")
            print(f"server VmHWM {server.vmhwm_mb():.0f} MB")
        finally:
            server.stop()
    if not args.src:
        from moontv.streams.service import StreamService

        text = playlist.decode()

        async def parse_runs() -> list[float]:
            service = StreamService.__new__(StreamService)
            from moontv.streams.playlist import Limits

            service.limits = Limits()
            service._big_parses = asyncio.Semaphore(2)
            out = []
            for _ in range(args.runs):
                started = time.perf_counter()
                await service.parse_playlist(text, "https://cdn.example.com/v/1080p/index.m3u8")
                out.append(time.perf_counter() - started)
            return out

        print(f"parse 1h playlist (in process)      {percentiles(asyncio.run(parse_runs()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
