"""The play page's 下载 tab: queue the episode on the server, follow it over server-sent events, save it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.ui.conftest import ARTIFACTS, DESKTOP, PHONE, login
from tests.ui.support import UiWorld

TITLE = "星际迷航：归途"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_download_tab_queues_follows_and_saves(
    ui_world: UiWorld, new_page: Any, viewport: dict[str, int]
) -> None:
    page = new_page(viewport=viewport)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/play?source=alpha&id=101&title={quote(TITLE)}")
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.5", timeout=60_000)
    page.click("#tab-downloads")
    page.click("#download-episode")
    item = page.locator('#download-list .download-item[data-status="done"]')
    item.wait_for(timeout=60_000)
    assert TITLE in item.inner_text()
    href = item.locator("a[download]").get_attribute("href")
    assert href and href.endswith("/file")
    size = page.evaluate(
        "(u) => fetch(u).then((r) => r.ok ? r.arrayBuffer() : null).then((b) => b && b.byteLength)", href
    )
    assert size and size > 10_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / f"play-downloads-{viewport['width']}x{viewport['height']}.png"), full_page=True
    )
    item.locator("button").click()
    page.locator("#download-list .download-item").wait_for(state="detached", timeout=10_000)
