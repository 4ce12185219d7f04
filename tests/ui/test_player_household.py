"""The player as a household uses it: a TV remote (keyboard only, spatial navigation on, 1920x1080),
a phone (touch gestures through CDP touch events), a source whose playlists are gone, a banned account and
the pages that offer "try again"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.support import CHROMIUM, CHROMIUM_ARGS
from tests.ui.conftest import DESKTOP, PHONE, login
from tests.ui.support import CATALOGUE, UiWorld, start_world

TITLE = CATALOGUE[0].name  # 星际迷航：归途, 4 episodes on alpha and beta
TV = {"width": 1920, "height": 1080}
ACTIVE = """() => { const a = document.activeElement; return a ? (a.id || a.className || a.tagName) : ""; }"""


def video(page: Any) -> dict[str, Any]:
    return page.evaluate(
        "() => { const v = document.getElementById('player');"
        " return {t: v.currentTime, d: v.duration, paused: v.paused}; }"
    )


def wait_video(page: Any, condition: str, timeout: float = 30_000) -> None:
    page.wait_for_function(
        f"() => {{ const v = document.getElementById('player'); return {condition}; }}", timeout=timeout
    )


def tab_until(page: Any, predicate: str, limit: int = 60) -> int:
    """Press Tab until ``predicate`` (a JS expression over ``a`` = document.activeElement) holds."""
    for count in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const a = document.activeElement; return !!a && ({predicate}); }}"):
            return count
    raise AssertionError(
        f"focus never reached {predicate} in {limit} Tab presses; at {page.evaluate(ACTIVE)}"
    )


@pytest.fixture
def spatial_browser(browser: Any) -> Iterator[Any]:
    """A second Chromium, from the same Playwright, with spatial navigation (arrow keys move focus)."""
    spatial = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--enable-spatial-navigation"], headless=True
    )
    try:
        yield spatial
    finally:
        spatial.close()


@pytest.fixture
def tv_page(spatial_browser: Any) -> Iterator[Any]:
    """A TV browser: big screen, no hover (touch emulation reports hover: none), so the 10-foot mode is on;
    any page error fails the test."""
    context = spatial_browser.new_context(viewport=TV, has_touch=True, service_workers="block")
    context.set_default_timeout(20_000)
    context.add_init_script("try { localStorage.setItem('moontv_muted', 'true'); } catch (e) {}")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
        assert errors == []
    finally:
        context.close()


def test_tv_remote_home_search_title_play_next_episode_fullscreen(ui_world: UiWorld, tv_page: Any) -> None:
    page = tv_page
    sign_in_with_the_keyboard(page, ui_world.url)
    search_from_the_top_bar(page)
    arrows_walk_the_results_to_the_title(page)
    the_player_fills_the_screen(page)
    arrows_seek_ten_seconds_never_to_the_end(page)
    next_episode_from_the_visible_controls(page)
    arrows_in_the_episode_grid_do_not_seek(page)
    the_rate_menu_roves_and_escape_returns_focus(page)
    full_screen_from_the_remote(page)


# -- the steps of the TV remote story --------------------------------------------------------------------


def sign_in_with_the_keyboard(page: Any, base_url: str) -> None:
    """Sign in with the keyboard (focus starts in the username field)."""
    page.goto(f"{base_url}/login")
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type("test")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/")
    assert page.evaluate("() => 'tv' in document.documentElement.dataset")
    page.wait_for_load_state("load")
    if page.evaluate("() => !!document.querySelector('#announcement-dialog[open]')"):
        page.keyboard.press("Escape")


def search_from_the_top_bar(page: Any) -> None:
    """Home -> search: the top bar's search field."""
    tab_until(page, "a.closest('.topsearch') !== null")
    page.keyboard.type("星")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    page.wait_for_function("() => document.getElementById('search-spinner').hidden")


def arrows_walk_the_results_to_the_title(page: Any) -> None:
    """Search -> title: Tab to the first result, arrows move between results (spatial navigation)."""
    tab_until(page, "a.classList.contains('card-link') && !!a.closest('#results-exact, #results-others')")
    first = page.evaluate("() => document.activeElement.href")
    page.keyboard.press("ArrowRight")
    second = page.evaluate("() => document.activeElement.href")
    assert second and second != first
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("() => document.activeElement.href") == first
    target = page.locator("#results-exact .card", has_text=TITLE).locator(".card-link")
    href = target.get_attribute("href")
    for _ in range(12):  # along the first row of results to the title
        if page.evaluate("() => document.activeElement.getAttribute('href')") == href:
            break
        page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == href
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/play\?"))
    wait_video(page, "v.currentTime > 1")


def the_player_fills_the_screen(page: Any) -> None:
    """The 10-foot mode's player fills the screen: (nearly) full width, controls inside the viewport."""
    rect = page.eval_on_selector("#player-box", "(el) => el.getBoundingClientRect().toJSON()")
    assert rect["width"] >= 0.85 * TV["width"] and rect["bottom"] <= TV["height"], rect


def arrows_seek_ten_seconds_never_to_the_end(page: Any) -> None:
    """The picture: ←/→ seek 10 s, never to the end."""
    tab_until(page, "a.id === 'player'")
    before = video(page)["t"]
    page.keyboard.press("ArrowRight")
    after = video(page)
    assert 8 <= after["t"] - before <= 12 and after["t"] < after["d"] - 2
    for _ in range(4):  # near the end: the seek stops short of it, no jump into the next episode
        page.keyboard.press("ArrowRight")
    state = video(page)
    assert state["t"] <= state["d"] - 2.5
    page.evaluate("() => { document.getElementById('player').currentTime = 2; }")


def next_episode_from_the_visible_controls(page: Any) -> None:
    """Next episode from the controls: they are visible while one of them has focus."""
    tab_until(page, "a.id === 'btn-next'")
    page.wait_for_timeout(3500)  # longer than the idle delay
    opacity = page.eval_on_selector("#controls", "(el) => getComputedStyle(el).opacity")
    assert float(opacity) == 1.0
    page.keyboard.press("Enter")
    current = "() => document.querySelector('.episode-grid button[aria-current=true]')?.dataset.index"
    page.wait_for_function(f"() => ({current})() === '1'")
    wait_video(page, "v.currentTime > 0.5")


def arrows_in_the_episode_grid_do_not_seek(page: Any) -> None:
    """The episode grid: arrows move between episodes and do not seek."""
    tab_until(page, "!!a.closest('.episode-grid')")
    playing_at = video(page)["t"]
    label = page.evaluate("() => document.activeElement.textContent")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.textContent") != label
    assert page.evaluate("() => !!document.activeElement.closest('.episode-grid')")
    assert abs(video(page)["t"] - playing_at) < 5


def the_rate_menu_roves_and_escape_returns_focus(page: Any) -> None:
    """A menu: roving focus, Escape gives focus back to its button."""
    tab_until(page, "a.id === 'btn-rate'", limit=80)
    page.keyboard.press("Enter")
    assert page.is_visible("#rate-menu")
    assert page.evaluate("() => document.activeElement.dataset.rate") == "1"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.dataset.rate") == "1.25"
    page.keyboard.press("Escape")
    assert page.is_hidden("#rate-menu")
    assert page.evaluate("() => document.activeElement.id") == "btn-rate"


def full_screen_from_the_remote(page: Any) -> None:
    """Full screen from the remote."""
    page.keyboard.press("f")
    page.wait_for_function(
        "() => document.fullscreenElement && document.fullscreenElement.id === 'player-box'"
    )


def touch(session: Any, x: float, y: float) -> None:
    point = [{"x": x, "y": y, "radiusX": 2, "radiusY": 2, "force": 1, "id": 1}]
    session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point})
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_phone_tap_shows_controls_double_tap_seeks_pause_is_deliberate(
    ui_world: UiWorld, new_page: Any
) -> None:
    page = new_page(PHONE)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/play?source=alpha&id=101&title={quote(TITLE)}")
    wait_video(page, "v.currentTime > 1 && !v.paused")
    session = page.context.new_cdp_session(page)
    session.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    box = page.locator("#player").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    idle = "() => document.getElementById('player-box').classList.contains('is-idle')"

    # controls hidden while playing; a tap brings them up, a second tap hides them; playback never stops
    page.wait_for_function(idle, timeout=10_000)
    touch(session, cx, cy)
    page.wait_for_function(f"() => !({idle})()")
    assert not video(page)["paused"]
    page.wait_for_timeout(400)
    touch(session, cx, cy)
    page.wait_for_function(idle)
    assert not video(page)["paused"]

    # double tap on the right third: +10 s; on the left third: -10 s
    page.evaluate("() => { document.getElementById('player').currentTime = 4; }")
    page.wait_for_timeout(300)
    start = video(page)["t"]
    right = box["x"] + box["width"] * 0.85
    touch(session, right, cy)
    page.wait_for_timeout(80)
    touch(session, right, cy)
    page.wait_for_function(f"() => document.getElementById('player').currentTime > {start + 8}")
    assert not video(page)["paused"]
    now = video(page)["t"]
    left = box["x"] + box["width"] * 0.15
    touch(session, left, cy)
    page.wait_for_timeout(80)
    touch(session, left, cy)
    page.wait_for_function(f"() => document.getElementById('player').currentTime < {now - 6}")

    # pausing is the play button's job: tap to show the controls, then tap the button
    touch(session, cx, cy)
    page.wait_for_function(f"() => !({idle})()")
    size = page.eval_on_selector("#btn-play", "(el) => [el.offsetWidth, el.offsetHeight]")
    assert min(size) >= 44
    button = page.locator("#btn-play").bounding_box()
    assert button is not None
    touch(session, button["x"] + button["width"] / 2, button["y"] + button["height"] / 2)
    page.wait_for_function("() => document.getElementById('player').paused")


@pytest.fixture
def dead_world(tmp_path: Path, ui_media: Path) -> Iterator[UiWorld]:
    w = start_world(tmp_path / "world", media=ui_media, dead_streams=True)
    try:
        yield w
    finally:
        w.stop()


def test_dead_source_falls_back_to_a_working_one_and_the_favorite_follows(
    dead_world: UiWorld, new_page: Any
) -> None:
    page = new_page(DESKTOP)
    login(page, dead_world.url)
    page.goto(f"{dead_world.url}/play?source=delta&id=401&title={quote(TITLE)}")
    # favorite the title while its dead source is current
    page.wait_for_selector("#fav-button:not([hidden])")
    page.click("#fav-button")
    wait_video(page, "v.currentTime > 0.5", timeout=40_000)
    source = parse_qs(urlparse(page.url).query)["source"][0]
    assert source in {"alpha", "beta"}
    assert page.is_hidden("#player-error")
    texts = page.locator("#toasts .toast").all_inner_texts()
    name = {"alpha": "天狐影视", "beta": "蓝光资源"}[source]
    assert any(name in text and "无法播放" in text for text in texts), texts
    assert not any(re.search(r"[Ee]rror|网络错误|\(", text) for text in texts), texts
    assert page.get_attribute("#fav-button", "aria-pressed") == "true"
    client = dead_world.server.login()
    try:
        for _ in range(40):
            favorites = client.get("/api/favorites").json()
            if list(favorites) == [f"{source}+{'101' if source == 'alpha' else '201'}"]:
                break
            page.wait_for_timeout(250)
        assert list(favorites) == [f"{source}+{'101' if source == 'alpha' else '201'}"], favorites
    finally:
        client.close()


def test_banned_user_is_told_why(ui_world: UiWorld, new_page: Any) -> None:
    ui_world.server.call(ui_world.server.state.auth.create_user("viewer", "viewer-pw"))
    page = new_page(DESKTOP)
    login(page, ui_world.url, "viewer", "viewer-pw")
    owner = ui_world.server.login()
    try:
        version = owner.get("/api/admin/config").json()["version"]
        response = owner.post(
            "/api/admin/user", json={"action": "ban", "targetUsername": "viewer", "version": version}
        )
        assert response.status_code == 200, response.text
    finally:
        owner.close()
    page.goto(f"{ui_world.url}/search")
    page.wait_for_url(re.compile(r"/login\?redirect="))
    assert page.is_visible("#banned-notice")
    assert "封禁" in page.inner_text("#banned-notice")
    # a visitor without that session sees the plain login page
    other = new_page(DESKTOP)
    other.goto(f"{ui_world.url}/login")
    assert other.locator("#banned-notice").count() == 0


def test_retry_buttons_on_offline_and_douban_pages(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(DESKTOP)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/offline")
    retry = page.locator("[data-action=reload]")
    assert retry.is_visible()
    with page.expect_navigation():
        retry.click()

    answers = {"fail": True}

    def douban(route: Any) -> None:
        if answers["fail"]:
            route.fulfill(status=502, content_type="application/json", body='{"error": "upstream"}')
        else:
            item = {"title": "重试之后", "poster": "", "rate": "8.1", "year": "2024", "id": "1"}
            route.fulfill(
                status=200, content_type="application/json", body=json.dumps({"code": 200, "list": [item]})
            )

    page.route(re.compile(r".*/api/douban/.*"), douban)
    page.goto(f"{ui_world.url}/douban?type=movie")
    button = page.locator("#douban-retry")
    button.wait_for()
    answers["fail"] = False
    button.click()
    page.wait_for_selector("#douban-grid .card:has-text('重试之后')")
