"""The app's own play page in Debian chromium with real hls.js: ad frames (solid red) never show with
ad removal on and the video ends at the programme length; with it off they do (negative control)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_cms import make_item
from tests.streams.upstream import Upstream
from tests.support import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TITLE = "广告测试片"
PROGRAMME = 20.0
WITH_AD = 26.0

# Samples the <video> 10 times a second: a frame counts as "ad" when over 90 % of its pixels are red.
SAMPLER = """
(() => {
  const v = document.getElementById("player");
  const c = document.createElement("canvas");
  c.width = 32; c.height = 18;
  const g = c.getContext("2d", { willReadFrequently: true });
  const s = window.__adStats = { samples: 0, red: 0, redAt: [], maxTime: 0, ended: false, endTime: null,
                                 duration: null, src: "", frames: 0 };
  v.muted = true;
  v.addEventListener("ended", () => { s.ended = true; s.endTime = v.currentTime; s.duration = v.duration; });
  setInterval(() => {
    if (v.playbackRate !== 4) v.playbackRate = 4;
    if (v.paused && !v.ended && v.readyState >= 2) v.play().catch(() => {});
    s.maxTime = Math.max(s.maxTime, v.currentTime || 0);
    if (Number.isFinite(v.duration)) s.duration = v.duration;
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
    if (q) s.frames = q.totalVideoFrames;
    if (v.readyState < 2 || !v.videoWidth) return;
    g.drawImage(v, 0, 0, 32, 18);
    const d = g.getImageData(0, 0, 32, 18).data;
    let red = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 180 && d[i + 1] < 70 && d[i + 2] < 70) red++;
    s.samples++;
    if (red > 0.9 * 32 * 18) { s.red++; s.redAt.push(Math.round(v.currentTime * 10) / 10); }
  }, 100);
})();
"""


@pytest.fixture
def site(live_app: Any, fake_cms_factory: Any, cdn: Upstream) -> Iterator[tuple[LiveServer, Upstream]]:
    if not (Path(__file__).resolve().parents[2] / "src/moontv/web/static/vendor/hls.min.js").exists():
        pytest.fail("hls.js is not vendored: run scripts/build_frontend.sh")
    items = [
        make_item(n, f"{TITLE}{name}", groups=[("m3u8", [("第1集", f"{cdn.url}/{name}.m3u8")])])
        for n, name in enumerate(["mid", "far", "preroll", "postroll", "res", "splice", "multi"], start=1)
    ]
    fake = fake_cms_factory(items)
    live = live_app({"ffm": fake.base_url}, allow_private_upstreams="127.0.0.1/32")
    yield live, cdn


def play(browser: Any, live: LiveServer, name: str, item_id: int, *, blockad: bool) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 960, "height": 640})
    try:
        login = context.request.post(f"{live.url}/api/login", data={"username": "admin", "password": "test"})
        assert login.ok, login.text()
        context.add_init_script(f"localStorage.setItem('enable_blockad', {json.dumps(json.dumps(blockad))});")
        page = context.new_page()
        proxied: list[str] = []
        page.on("request", lambda r: proxied.append(r.url) if "/api/proxy/m3u8" in r.url else None)
        page.goto(
            f"{live.url}/play?source=ffm&id={item_id}&title={TITLE}{name}", wait_until="domcontentloaded"
        )
        page.wait_for_selector("#player", state="attached")
        page.evaluate(SAMPLER)
        deadline = time.monotonic() + 60
        stats: dict[str, Any] = {}
        while time.monotonic() < deadline:
            stats = page.evaluate("window.__adStats")
            if stats["ended"]:
                break
            page.wait_for_timeout(250)
        stats["proxied"] = bool(proxied)
        if not stats.get("ended"):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"browser-ads-{name}-{'on' if blockad else 'off'}.png"))
        return stats
    finally:
        context.close()


@pytest.mark.parametrize(
    ("name", "item_id"),
    [("mid", 1), ("far", 2), ("preroll", 3), ("postroll", 4), ("res", 5), ("multi", 7)],
)
def test_ads_never_show_with_ad_removal_on(browser: Any, site: Any, name: str, item_id: int) -> None:
    live, _ = site
    stats = play(browser, live, name, item_id, blockad=True)
    assert stats["ended"], stats
    assert stats["proxied"], "the page must load the playlist through /api/proxy/m3u8"
    assert stats["samples"] > 20 and stats["frames"] > 0, stats
    assert stats["red"] == 0, f"ad frames shown at {stats['redAt']}"
    assert stats["duration"] == pytest.approx(PROGRAMME, abs=0.6), stats
    assert stats["endTime"] == pytest.approx(PROGRAMME, abs=0.6), stats


def test_harmless_discontinuity_plays_to_the_end(browser: Any, site: Any) -> None:
    live, _ = site
    stats = play(browser, live, "splice", 6, blockad=True)
    assert stats["ended"] and stats["red"] == 0
    assert stats["duration"] == pytest.approx(PROGRAMME, abs=0.6)
    assert stats["maxTime"] == pytest.approx(PROGRAMME, abs=0.6)


@pytest.mark.parametrize(("name", "item_id"), [("mid", 1), ("far", 2)])
def test_negative_control_ads_show_with_ad_removal_off(
    browser: Any, site: Any, name: str, item_id: int
) -> None:
    live, _ = site
    stats = play(browser, live, name, item_id, blockad=False)
    assert not stats["proxied"]
    assert stats["red"] > 0, stats
    assert all(5.5 <= t <= 12.5 for t in stats["redAt"]), stats["redAt"]
    assert stats["duration"] == pytest.approx(WITH_AD, abs=0.6), stats
