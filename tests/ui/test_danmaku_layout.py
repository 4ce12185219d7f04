"""The danmaku renderer's layout, driven by a fake clock in Chromium: a dense 3,000-comment episode with top
and bottom comments is stepped frame by frame, and at every frame no two visible comments overlap, a lane
never holds a scrolling and a fixed comment at once, and everything stays inside the display area."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.danmu_fake import FakeDanmuApi
from tests.support import LiveServer, settings_for

EPISODE = 10001

# Builds a renderer over a canvas of the given size and a fake video, then steps the clock at 60 fps
# through the episode, checking every frame's boxes.
SIMULATE = """async ({ comments, width, height, area, seconds }) => {
  const { DanmakuCanvas } = await import('/static/play/danmaku-canvas.js');
  const canvas = document.createElement('canvas');
  canvas.style.position = 'fixed';
  canvas.style.left = '0';
  canvas.style.top = '0';
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  document.body.append(canvas);
  const video = { currentTime: 0, paused: true, addEventListener() {} };
  const r = new DanmakuCanvas(canvas, video);
  r.configure({ area, density: 80, fontSize: 24, speed: 8 });
  r.load(comments);
  const lineHeight = Math.ceil(24 * 1.3);
  const bottomLimit = Math.min(height * area, height - 40);
  const result = { frames: 0, overlaps: [], sharedLanes: [], outside: [], maxVisible: 0,
                   kinds: { scroll: 0, top: 0, bottom: 0 }, lanes: r.laneCount(lineHeight) };
  const seen = new Set();
  for (let frame = 0; frame <= seconds * 60; frame += 1) {
    const now = frame / 60;
    r.draw(now);
    const boxes = r.active.map((item) => [item, r.box(item, now)]).filter(([, b]) => b);
    result.frames += 1;
    result.maxVisible = Math.max(result.maxVisible, boxes.length);
    const laneKinds = new Map();
    for (const [item, b] of boxes) {
      if (!seen.has(item)) { seen.add(item); result.kinds[item.kind] += 1; }
      if (b.y < 0 || b.y + b.height > bottomLimit) result.outside.push([now, item.kind, b.y]);
      const fixed = item.kind !== 'scroll';
      const other = laneKinds.get(item.lane);
      if (other !== undefined && other !== fixed) result.sharedLanes.push([now, item.lane]);
      laneKinds.set(item.lane, fixed);
    }
    for (let i = 0; i < boxes.length; i += 1) {
      for (let j = i + 1; j < boxes.length; j += 1) {
        const [ia, a] = boxes[i];
        const [ib, b] = boxes[j];
        if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) {
          result.overlaps.push([now, ia.kind, ib.kind, a, b]);
        }
      }
    }
  }
  canvas.remove();
  return result;
}"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(settings_for(tmp_path)).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.mark.parametrize(
    ("width", "height", "area"),
    [(390, 219, 1.0), (390, 219, 0.5), (1440, 810, 1.0), (1440, 810, 0.25)],
)
def test_no_two_comments_overlap_across_modes(
    server: LiveServer, new_page: Any, width: int, height: int, area: float
) -> None:
    fake = FakeDanmuApi(duration=20.0)
    fake.dense_episode, fake.dense_count = EPISODE, 3000
    rows = fake.comment_rows(EPISODE)
    assert len(rows) == 3000 and {mode for _, mode, _, _ in rows} == {1, 4, 5}
    page = new_page(viewport={"width": max(width, 400), "height": max(height, 400)})
    page.goto(f"{server.url}/login")
    result = page.evaluate(
        SIMULATE,
        {"comments": [list(r) for r in rows], "width": width, "height": height, "area": area, "seconds": 24},
    )
    assert result["frames"] == 24 * 60 + 1
    assert result["overlaps"] == [], result["overlaps"][:3]
    assert result["sharedLanes"] == [], result["sharedLanes"][:3]
    assert result["outside"] == [], result["outside"][:3]
    kinds = result["kinds"]
    assert kinds["scroll"] >= 2 * result["lanes"], result  # dense enough to matter
    if result["lanes"] >= 4:  # areas of 4+ lanes show every mode, not only scrolling comments
        assert kinds["top"] > 0 and kinds["bottom"] > 0, result
