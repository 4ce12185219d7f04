#!/usr/bin/env python3
"""Ad-analysis benchmark and per-scenario results table.

Default mode: time the server-side ad analysis of a 1-hour media playlist whose segments are
served by a local HTTP server (every probe is a real HTTP Range request over loopback through
the SSRF-guarded client). Goal: <= 300 ms per analysis. Shapes:

- ``1h-2s``: 1800 x 2 s segments, a pre-roll and 5 mid-roll ads (13 blocks, 26 probes)
- ``1h-6s``: 600 x 6 s segments, same ad layout
- ``1h-60blocks``: 1800 x 2 s segments with 30 ad breaks (61 blocks, 122 probes)

Each run is cold (no decision cache). Reported: analysis only (probes + classification) and the
whole proxy job (fetch playlist + parse + analyse + rewrite).

``--scenarios``: encode the ffmpeg scenario set (needs ffmpeg), run each playlist through the
real app's ``/api/proxy/m3u8`` and print the results table used in docs/ads.md
(``--markdown`` for the Markdown form).

Usage: python scripts/bench_ads.py [--runs 20] [--json out.json]
       python scripts/bench_ads.py --scenarios --markdown
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.streams.synth import Spec, generate  # noqa: E402

from moontv.streams import ads  # noqa: E402
from moontv.streams.netguard import NetGuard  # noqa: E402
from moontv.streams.playlist import parse, rewrite  # noqa: E402
from moontv.streams.service import SourceOptions, StreamService  # noqa: E402

GOAL_MS = 300.0


class _Media(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    files: ClassVar[dict[str, bytes]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: without this, Nagle + delayed ACK add ~40 ms per answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = 200
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            start, end = int(first or 0), min(int(last or len(body) - 1), len(body) - 1)
            body, status = body[start : end + 1], 206
        self.send_response(status)
        self.send_header(
            "Content-Type", "application/vnd.apple.mpegurl" if self.path.endswith("8") else "video/mp2t"
        )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def shape(name: str, base: str) -> list[Spec]:
    seg = 6.0 if name == "1h-6s" else 2.0
    breaks = 30 if name == "1h-60blocks" else 5
    programme_segments = int(3600 / seg)
    per_part = programme_segments // (breaks + 1)
    specs = [Spec(f"{base}/ads/pre", 3, seg=5.0, pts=0.0)]
    pts = 10.0
    for part in range(breaks + 1):
        count = per_part if part < breaks else programme_segments - per_part * breaks
        specs.append(Spec(f"{base}/show", count, seg=seg, pts=pts))
        pts += count * seg
        if part < breaks:
            specs.append(Spec(f"{base}/ads/b{part}", 4, seg=5.0, pts=0.0))
    return specs


def _serve(files: dict[str, bytes], ready: Any) -> None:
    """The media server, in its own process (so it does not share the analyser's GIL)."""
    _Media.files = files
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Media)
    server.daemon_threads = True
    ready.send(server.server_port)
    server.serve_forever()


def start_media_server(files: dict[str, bytes]) -> tuple[multiprocessing.Process, int]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(files, child), daemon=True)
    process.start()
    if not parent.poll(20):
        process.kill()
        raise RuntimeError("the media server did not start")
    return process, int(parent.recv())


async def bench(runs: int) -> dict[str, Any]:
    base = "http://127.0.0.1:{port}"
    files: ClassVar[dict[str, bytes]] = {}
    layouts: dict[str, list[Spec]] = {}
    for name in ("1h-2s", "1h-6s", "1h-60blocks"):
        specs = shape(name, f"/{name}")
        text, media = generate(specs)
        layouts[name] = specs
        files[f"/{name}.m3u8"] = text.encode()
        for path, (data,) in media.items():
            assert data is not None
            files[path] = data
    process, port = start_media_server(files)
    base = base.format(port=port)
    guard = NetGuard("127.0.0.1/32")
    service = StreamService(guard=guard, secret=b"b" * 32, timeout=10.0)
    opts = SourceOptions(key="bench")
    out: dict[str, Any] = {"goal_ms": GOAL_MS, "runs": runs, "shapes": {}}
    try:
        for name, specs in layouts.items():
            url = f"{base}/{name}.m3u8"
            analysis, total, parse_ms = [], [], []
            decision = None
            for _ in range(runs + 2):  # two warm-up runs (connection pool, imports)
                started = time.perf_counter()
                final, body = await service.fetch_playlist(url, opts)
                t_parse = time.perf_counter()
                playlist = parse(body, final)
                parsed = time.perf_counter()
                decision = await ads.analyse(playlist, service.prober(opts))
                rewrite(playlist, service.mapper(opts, "bench"), decision.remove)
                ended = time.perf_counter()
                analysis.append(decision.elapsed_ms)
                total.append((ended - started) * 1000)
                parse_ms.append((parsed - t_parse) * 1000)
            assert decision is not None
            analysis, total, parse_ms = analysis[2:], total[2:], parse_ms[2:]
            expected_ads = sum(1 for s in specs if "/ads/" in s.folder)
            out["shapes"][name] = {
                "segments": len(playlist.segments),
                "blocks": len(decision.blocks),
                "probes": decision.probes,
                "ads_removed": len(decision.removed_blocks),
                "ads_expected": expected_ads,
                "analysis_ms": _stats(analysis),
                "proxy_job_ms": _stats(total),
                "parse_ms": _stats(parse_ms),
                "within_goal": statistics.median(analysis) <= GOAL_MS,
            }
    finally:
        await service.aclose()
        process.terminate()
        process.join(10)
    return out


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "max": round(ordered[-1], 1),
    }


def scenarios() -> list[dict[str, Any]]:
    from tests.streams.hls_fixtures import SCENARIOS, build
    from tests.streams.upstream import Upstream
    from tests.support import LiveServer, settings_for, write_config

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        media = build(work / "hls")
        write_config(work / "config.json", {})
        live = LiveServer(settings_for(work, allow_private_upstreams="127.0.0.1/32")).start()
        try:
            with Upstream(media) as cdn:
                client = live.login()
                for scenario in SCENARIOS:
                    url = f"{cdn.url}/{scenario.name}.m3u8"
                    before = len([line for line in (media / f"{scenario.name}.m3u8").read_text().splitlines()
                                  if line.startswith("#EXTINF")])  # fmt: skip
                    response = client.get("/api/proxy/m3u8", params={"url": url})
                    debug = client.get("/api/proxy/m3u8/debug", params={"url": url}).json()["decision"]
                    after = response.text.count("#EXTINF")
                    removed_blocks = debug["removedBlocks"]
                    ok = (
                        removed_blocks == scenario.ad_blocks
                        and abs(debug["removedSeconds"] - scenario.ad_seconds) < 0.01
                    )
                    rows.append(
                        {
                            "scenario": scenario.name,
                            "description": scenario.description,
                            "blocks": len(debug["blocks"]),
                            "expected": f"{scenario.ad_blocks} blocks, {scenario.ad_seconds:g} s",
                            "header": response.headers.get("x-moontv-ads-removed", ""),
                            "status": debug["status"],
                            "segments": f"{before} -> {after}",
                            "analysis_ms": debug["elapsedMs"],
                            "probes": debug["probes"],
                            "result": "pass" if ok else "FAIL",
                        }
                    )
        finally:
            live.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--scenarios", action="store_true", help="run the ffmpeg scenario table instead")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if args.scenarios:
        rows = scenarios()
        if args.markdown:
            columns = ["scenario", "description", "blocks", "expected", "header", "status", "segments"]
            columns += ["analysis_ms", "probes", "result"]
            titles = ["scenario", "what", "blocks", "expected removal", "X-MoonTV-Ads-Removed", "status"]
            titles += ["segments", "analysis ms", "probes", "result"]
            print("| " + " | ".join(titles) + " |")
            print("|" + "---|" * len(titles))
            for r in rows:
                print("| " + " | ".join(str(r[c]) for c in columns) + " |")
        else:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0 if all(r["result"] == "pass" for r in rows) else 1
    result = asyncio.run(bench(max(args.runs, 1)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(f"ad analysis of a 1-hour playlist, probes over loopback HTTP, {result['runs']} cold runs each")
    print(
        f"{'shape':12} {'segs':>5} {'blocks':>6} {'probes':>6} {'ads':>7}  analysis ms median/p95/max  job ms"
    )
    for name, row in result["shapes"].items():
        a, t = row["analysis_ms"], row["proxy_job_ms"]
        ads_found = f"{row['ads_removed']:>3}/{row['ads_expected']:<3}"
        counts = f"{row['segments']:>5} {row['blocks']:>6} {row['probes']:>6} {ads_found}"
        times = f"{a['median']:>7} / {a['p95']:>6} / {a['max']:>6}   {t['median']:>7} / {t['p95']:>6}"
        print(f"{name:12} {counts}  {times}   {'ok' if row['within_goal'] else 'OVER GOAL'}")
    ok = all(r["within_goal"] and r["ads_removed"] == r["ads_expected"] for r in result["shapes"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
