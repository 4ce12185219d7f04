#!/usr/bin/env python3
"""Peak memory while indexing a large gzip XMLTV guide (the live TV EPG path).

Generates a guide of about ``--size-mb`` uncompressed megabytes (a week of half-hour shows for
enough channels), then, in a fresh interpreter, streams the gzip file through
``moontv.live.epg.XmltvStream`` in 1 MiB pieces (as the service does with a download) with a
playlist of ``--wanted`` channels. Prints one JSON line: sizes, programmes kept, seconds, and the
peak RSS growth over the interpreter's baseline (``ru_maxrss``).

    .venv/bin/python scripts/measure_live_epg.py --size-mb 200
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def _measure(path: Path, wanted: int) -> dict[str, object]:
    from moontv.live.epg import Wanted, XmltvStream
    from moontv.live.playlist import Channel

    channels = [Channel(name=f"Channel {i}", tvg_id=f"ch{i}", urls=["http://x/"]) for i in range(wanted)]
    now = datetime.now(UTC)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    stream = XmltvStream(
        Wanted.from_channels(channels),
        window_start=now - timedelta(days=1),
        window_end=now + timedelta(days=2),
    )
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            stream.feed(chunk)
    found = stream.close()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "compressedBytes": stream.compressed_bytes,
        "xmlBytes": stream.xml_bytes,
        "guideChannels": stream.guide_channels,
        "wantedChannels": wanted,
        "matchedChannels": len(found),
        "programmesKept": stream.total,
        "seconds": round(elapsed, 2),
        "baselineRssMiB": round(baseline / 1024, 1),
        "peakRssMiB": round(peak / 1024, 1),
        "peakGrowthMiB": round((peak - baseline) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--wanted", type=int, default=200, help="channels in the playlist")
    parser.add_argument("--guide", type=Path, help="reuse this gzip guide instead of generating one")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.wanted)))
        return
    from tests.live.guides import write_gzip_guide

    workdir = Path(tempfile.mkdtemp(prefix="moontv-epg-"))
    path = args.guide or workdir / f"guide-{args.size_mb}mb.xml.gz"
    if args.guide is None:
        start = datetime.now(UTC) - timedelta(days=3)
        channels = [(f"ch{i}", f"Channel {i}") for i in range(args.wanted)]
        started = time.perf_counter()
        size = write_gzip_guide(path, args.size_mb * 1024 * 1024, channels, start)
        print(
            f"generated {size / 2**20:.0f} MiB XMLTV ({path.stat().st_size / 2**20:.1f} MiB gzip) "
            f"in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--wanted", str(args.wanted)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result = json.loads(out.stdout)
    result["loadAverage"] = os.getloadavg()[0]
    print(json.dumps(result))
    if args.guide is None:
        path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
