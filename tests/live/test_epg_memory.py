"""A 200 MB XMLTV guide is indexed with bounded memory (scripts/measure_live_epg.py does the work)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_200mb_gzip_guide_is_streamed_with_bounded_memory() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "measure_live_epg.py"),
            "--size-mb",
            "200",
            "--wanted",
            "200",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["xmlBytes"] > 190 * 2**20  # the whole guide went through the parser
    assert result["matchedChannels"] == 200 and result["guideChannels"] > 1000
    # three days of half-hour shows for the 200 playlist channels: the window, nothing more
    assert 200 * 140 <= result["programmesKept"] <= 200 * 146
    # the guide is ~40x the memory the index may use
    assert result["peakGrowthMiB"] < 64, result
