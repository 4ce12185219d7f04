"""Danmaku in a real browser: a 3,000-comment episode from a fake danmu_api server, drawn over the player at
a phone viewport; comments appear at their timestamps, and dropped video frames are measured."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.fakes.danmu_fake import FakeDanmuApi
from tests.ui.conftest import ARTIFACTS, DESKTOP, PHONE, login
from tests.ui.support import UiWorld, start_world

TITLE = "星际迷航：归途"
COMMENTS = 3000


@pytest.fixture
def danmaku_world(tmp_path: Path, ui_media: Path) -> Any:
    fake = FakeDanmuApi(
        duration=20.0, extra=[{"animeId": 10, "title": TITLE, "season": 1, "episodes": 4, "base": 10000}]
    ).start()
    fake.dense_episode, fake.dense_count = 10001, COMMENTS
    world = start_world(tmp_path / "world", media=ui_media, danmu_api_base_url=fake.url)
    try:
        yield world, fake
    finally:
        world.stop()
        fake.stop()


# Records every comment the renderer places (its timestamp and the video clock at that moment).
RECORDER = """() => {
  const r = window.__danmaku.renderer;
  window.__placed = [];
  const place = r.place.bind(r);
  r.place = (comment, now) => { window.__placed.push([comment[0], now]); return place(comment, now); };
}"""


def playback_quality(page: Any) -> dict[str, int]:
    """Plays 0 s to 12 s and returns the decoded and dropped frame counts of that stretch."""
    page.evaluate("() => { const v = document.getElementById('player'); v.pause(); v.currentTime = 0; }")
    page.wait_for_function("() => !document.getElementById('player').seeking", timeout=30_000)
    # placements made while the page was still playing before the seek back to 0 are not this stretch's
    page.evaluate("() => { if (window.__placed) window.__placed.length = 0; }")
    before = page.evaluate(QUALITY)
    page.evaluate("() => document.getElementById('player').play()")
    page.wait_for_function("() => document.getElementById('player').currentTime > 12", timeout=60_000)
    after = page.evaluate(QUALITY)
    return {"frames": after["total"] - before["total"], "dropped": after["dropped"] - before["dropped"]}


QUALITY = """() => { const q = document.getElementById('player').getVideoPlaybackQuality();
                     return { total: q.totalVideoFrames, dropped: q.droppedVideoFrames }; }"""


def play_page(world: UiWorld, new_page: Any, viewport: dict[str, int]) -> Any:
    page = new_page(viewport=viewport)
    login(page, world.url)
    page.goto(f"{world.url}/play?source=alpha&id=101&title={quote(TITLE)}")
    page.wait_for_function(f"() => window.__danmaku && window.__danmaku.count === {COMMENTS}", timeout=60_000)
    return page


def test_comments_appear_at_their_timestamps_without_dropping_frames(
    danmaku_world: Any, new_page: Any
) -> None:
    world, fake = danmaku_world
    page = play_page(world, new_page, PHONE)
    page.evaluate(RECORDER)
    with_danmaku = playback_quality(page)
    placed = page.evaluate("() => window.__placed")
    ink = page.evaluate(
        """() => { const c = document.getElementById('danmaku-canvas');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1; return n; }"""
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "play-danmaku-390x844.png"))
    assert len(placed) > 100, len(placed)
    lateness = [now - at for at, now in placed]
    assert min(lateness) >= 0 and max(lateness) < 1.0, (min(lateness), max(lateness))
    assert sorted(at for at, _ in placed) == [at for at, _ in placed]  # in timestamp order
    assert ink > 0  # something is actually drawn
    # the same stretch again with danmaku off: the machine's own frame drops, for comparison
    page.hover("#player-box", position={"x": 200, "y": 100})
    page.click("#btn-danmaku")
    without = playback_quality(page)
    report = {
        "viewport": PHONE, "comments": COMMENTS, "placed": len(placed),
        "p95_lateness_s": round(sorted(lateness)[int(len(lateness) * 0.95)], 3),
        "with_danmaku": with_danmaku, "without_danmaku": without, "load_average": os.getloadavg(),
    }  # fmt: skip
    (ARTIFACTS / "danmaku-frames.json").write_text(json.dumps(report, indent=2))
    # a busy CI machine drops frames by itself: only a gross regression fails (the numbers are reported)
    assert with_danmaku["frames"] > 200 and with_danmaku["dropped"] <= with_danmaku["frames"] // 4, report
    assert any(r["path"] == "/api/v2/comment/10001" for r in fake.requests)


def test_settings_filter_and_manual_pick(danmaku_world: Any, new_page: Any) -> None:
    world, _ = danmaku_world
    page = play_page(world, new_page, DESKTOP)
    page.evaluate("() => document.getElementById('player').play()")
    page.wait_for_function("() => window.__danmaku.renderer.active.length > 5", timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "play-danmaku-1440x900.png"))
    # the keyword filter drops matching comments; switching danmaku off hides the layer
    page.evaluate(RECORDER)
    page.hover("#player-box", position={"x": 200, "y": 100})
    page.click("#btn-settings")
    page.fill("#danmaku-filter", "10001#")
    page.evaluate("() => { const v = document.getElementById('player'); v.currentTime = 2; v.play(); }")
    page.wait_for_function("() => document.getElementById('player').currentTime > 5", timeout=30_000)
    assert page.evaluate("() => window.__danmaku.renderer.active.length") == 0
    stored = json.loads(page.evaluate("() => localStorage.getItem('moontv_danmaku')"))
    assert stored["filter"] == "10001#"
    page.click("#btn-danmaku")
    assert page.is_hidden("#danmaku-canvas")
    page.click("#btn-danmaku")
    # manual pick: search, pick the anime, pick episode 3; remembered for this title and source
    if page.is_hidden("#settings-menu"):
        page.click("#btn-settings")
    page.click("#danmaku-pick")
    page.wait_for_selector("#danmaku-animes .picker-item")
    page.click(f"#danmaku-animes .picker-item:has-text('{TITLE}')")
    page.click("#danmaku-episodes .picker-item:has-text('第3集')")
    page.wait_for_function("() => window.__danmaku.episodeId === 10003", timeout=30_000)
    saved = page.evaluate("() => fetch('/api/danmaku/choice?key=alpha%2B101').then((r) => r.json())")
    assert saved["choice"]["animeId"] == 10 and saved["choice"]["offset"] == 2
    page.reload()
    page.wait_for_function("() => window.__danmaku && window.__danmaku.episodeId === 10003", timeout=60_000)
