"""The /live page in Debian Chromium against a real live stream: ffmpeg encodes in real time into a
sliding-window HLS playlist served WITHOUT CORS, so the page can only play it through the live proxy.
The channel's first URL is dead (skipped), the guide (a +0900 XMLTV) shows the right programme."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live.encoder import LiveEncoder
from tests.live.guides import guide_bytes
from tests.ui.conftest import DESKTOP, PHONE, login
from tests.ui.support import REPO

TOKYO = timezone(timedelta(hours=9))
SHOTS = REPO / "artifacts" / "live"


@pytest.fixture(params=["sqlite"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def channel(tmp_path: Path):
    media = tmp_path / "media"
    with LiveEncoder(media / "ch1") as encoder:
        base = encoder.server.url
        (media / "list.m3u").write_text(
            f'#EXTM3U x-tvg-url="{base}/guide.xml"\n'
            f'#EXTINF:-1 tvg-id="live1" tvg-logo="{base}/logo.png" group-title="测试",测试直播\n'
            f"{base}/dead/index.m3u8\n"
            '#EXTINF:-1 tvg-id="live1" group-title="测试",测试直播\n'
            f"{encoder.playlist_url}\n"
            '#EXTINF:-1 group-title="其他",电视专用\n'
            "rtmp://example.invalid/tv-only\n",
            encoding="utf-8",
        )
        start = datetime.now(UTC).astimezone(TOKYO).replace(minute=0, second=0, microsecond=0) - timedelta(
            hours=2
        )
        (media / "guide.xml").write_bytes(
            guide_bytes([("live1", "测试直播")], start, hours=6, minutes_per_show=60, title="节目 {n}")
        )
        yield encoder


def _current_time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('live-video').currentTime"))


def test_live_page_plays_through_the_proxy(live_app, tmp_path: Path, channel: LiveEncoder, new_page) -> None:
    config = {"lives": {"test": {"name": "测试源", "url": f"{channel.server.url}/list.m3u"}}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    app = live_app(allow_private_upstreams="127.0.0.1")
    page = new_page(DESKTOP)
    login(page, app.url)
    page.goto(f"{app.url}/live")
    page.wait_for_selector('.live-channel[aria-current="true"]')
    assert page.inner_text("#live-title") == "测试直播"
    assert page.is_disabled('.live-channel:has-text("电视专用")')

    page.wait_for_function("() => document.getElementById('live-video').currentTime > 0.5", timeout=40_000)
    first_time, first_sequence = _current_time(page), channel.media_sequence()
    # playback keeps going across several playlist refreshes of the sliding window
    page.wait_for_function(
        f"() => document.getElementById('live-video').currentTime > {first_time + 5}", timeout=40_000
    )
    assert channel.media_sequence() >= first_sequence + 4
    proxied = [r for r in channel.server.requests if r["path"].startswith("/ch1/index.m3u8")]
    assert len(proxied) >= 5
    # the dead first line was tried once, then the page moved on to line 2
    assert any(r["path"] == "/dead/index.m3u8" for r in channel.server.requests)
    assert page.inner_text("#live-line") == "线路 2/2"
    # every upstream request came from the server, none from the browser (the upstream has no CORS)
    agents = {r["headers"].get("user-agent", "") for r in channel.server.requests}
    assert not any("HeadlessChrome" in agent for agent in agents), agents

    # the guide: the programme on air now (hour 2 of the +0900 guide), the next one, a progress bar
    page.wait_for_function("() => document.getElementById('live-now').textContent.includes('节目 2')")
    assert "节目 3" in page.inner_text("#live-next")
    assert page.is_visible("#live-progress")
    assert page.locator(".live-prog.is-now").inner_text().endswith("节目 2")

    # favourites are stored per user
    page.click("#live-fav")
    page.wait_for_selector('#live-fav[aria-pressed="true"]')
    page.click('.chip[data-group="__fav"]')
    assert page.locator(".live-name").all_inner_texts() == ["测试直播"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.click('.chip[data-group=""]')
    page.screenshot(path=str(SHOTS / "live-1440x900.png"))

    phone = new_page(PHONE)
    login(phone, app.url)
    phone.goto(f"{app.url}/live")
    phone.wait_for_function("() => document.getElementById('live-video').currentTime > 0.5", timeout=40_000)
    phone.wait_for_function("() => document.getElementById('live-now').textContent.includes('节目 2')")
    phone.screenshot(path=str(SHOTS / "live-390x844.png"))


def test_admin_adds_refreshes_and_checks_a_live_source(
    live_app, tmp_path: Path, channel: LiveEncoder, new_page
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"api_site": {}}), encoding="utf-8")
    app = live_app(allow_private_upstreams="127.0.0.1")
    page = new_page(DESKTOP)
    login(page, app.url)
    page.goto(f"{app.url}/admin")
    form = page.locator("#live-form")
    form.locator("input[name=name]").fill("我的直播")
    form.locator("input[name=key]").fill("mine")
    form.locator("input[name=url]").fill(f"{channel.server.url}/list.m3u")
    form.locator("button[type=submit]").click()
    row = page.locator('#live-table tr[data-key="mine"]')
    row.wait_for()
    row.locator('button[data-act="refresh"]').click()
    expect(row.locator("td").nth(3)).to_have_text("2", timeout=30_000)
    assert row.locator(".pill-ok").inner_text() == "1" and row.locator(".pill-failed").inner_text() == "1"
    row.locator('button[data-act="health"]').click()
    page.locator("#live-health").wait_for()
    urls = page.locator("#live-health-table tbody tr").first.inner_text()
    assert urls.index(channel.playlist_url) < urls.index("/dead/index.m3u8") and "HTTP 404" in urls
    # the web live switch turns the page off; the API for the TV apps keeps answering
    page.uncheck("#live-web-enabled")
    page.wait_for_timeout(500)
    page.goto(f"{app.url}/live")
    assert "网页直播已被管理员关闭" in page.inner_text("main")
    assert page.request.get(f"{app.url}/api/live/sources").json()["data"][0]["key"] == "mine"
