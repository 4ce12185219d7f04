"""The household walk-through, outside the player: a phone in one hand (touch targets, undo, the search
toolbar), the keyboard (one Tab stop per card, the user menu's arrow keys), the 10-foot mode's switch."""

from __future__ import annotations

import time
from typing import Any

from tests.ui.conftest import DESKTOP, PHONE, login
from tests.ui.support import UiWorld, seed_user_data

HIT_TEST = """(sel) => {
    const el = document.querySelector(sel);
    const r = el.getBoundingClientRect();
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    const hits = (x, y) => {
        const at = document.elementFromPoint(x, y);
        return !!at && (at === el || el.contains(at));
    };
    return { x: [hits(cx - 21, cy), hits(cx + 21, cy)], y: [hits(cx, cy - 21), hits(cx, cy + 21)] };
}"""


def dismiss_announcement(page: Any) -> None:
    page.wait_for_load_state("load")
    page.evaluate(
        "() => { const d = document.getElementById('announcement-dialog'); if (d && d.open) d.close(); }"
    )


def records(w: UiWorld) -> dict[str, Any]:
    client = w.server.login()
    try:
        return client.get("/api/playrecords").json()  # type: ignore[no-any-return]
    finally:
        client.close()


def test_phone_delete_has_undo_and_targets_are_44px(ui_world: UiWorld, new_page: Any) -> None:
    seed_user_data(ui_world)
    page = new_page(PHONE)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/")
    dismiss_announcement(page)
    card = page.locator(".shelf[data-shelf=records] .card[data-key='alpha+101']")
    trash = card.locator("[data-action=remove-record]")
    # a 44 px square around the trash button's centre hits the button, and not its neighbour the heart
    hit = page.evaluate(
        HIT_TEST, ".shelf[data-shelf=records] .card[data-key='alpha+101'] [data-action=remove-record]"
    )
    assert all(hit["x"]) and all(hit["y"]), hit

    trash.tap()
    assert card.is_hidden()
    undo = page.locator(".toast .toast-action")
    undo.wait_for()
    undo.tap()
    assert card.is_visible()
    assert "alpha+101" in records(ui_world)

    # without undo, the record is deleted when the toast is gone
    trash.tap()
    assert card.is_hidden()
    deadline = time.monotonic() + 15
    while "alpha+101" in records(ui_world) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "alpha+101" not in records(ui_world)
    assert "alpha+103" in records(ui_world)


def test_phone_search_toolbar_fits_without_sideways_scroll(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(PHONE)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/search?q=%E6%98%9F")
    page.wait_for_function("() => document.getElementById('search-spinner').hidden")
    toolbar = page.evaluate(
        "() => { const t = document.getElementById('toolbar'); return [t.scrollWidth, t.clientWidth]; }"
    )
    assert toolbar[0] <= toolbar[1], toolbar
    box = page.locator("#aggregate-toggle").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    for selector in ("#filter-source", "#order-button"):
        height = page.eval_on_selector(selector, "(el) => (el.closest('.select-pill') || el).offsetHeight")
        assert height >= 44, (selector, height)


def test_one_tab_stop_per_card_and_delete_key(ui_world: UiWorld, new_page: Any) -> None:
    seed_user_data(ui_world)
    page = new_page(DESKTOP)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/")
    dismiss_announcement(page)
    first = page.locator(".shelf[data-shelf=records] .card-link").first
    first.focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.closest('.card')?.dataset.key")
    assert focused == page.locator(".shelf[data-shelf=records] .card").nth(1).get_attribute("data-key")
    # Delete on a focused history card removes it (with undo), focus moves to its neighbour
    page.keyboard.press("Delete")
    assert page.locator(".shelf[data-shelf=records] .card").nth(1).is_hidden()
    assert page.evaluate("() => document.activeElement.classList.contains('card-link')")
    page.locator(".toast .toast-action").click()
    assert page.locator(".shelf[data-shelf=records] .card").nth(1).is_visible()


def test_user_menu_arrow_keys_and_escape(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(DESKTOP)
    login(page, ui_world.url)
    dismiss_announcement(page)
    page.focus("#user-button")
    page.keyboard.press("ArrowDown")
    assert page.is_visible("#user-menu")
    items = page.locator("#user-menu [role=menuitem]")
    active = "() => document.activeElement.textContent.trim()"
    assert page.evaluate(active) == items.nth(0).inner_text().strip()
    page.keyboard.press("ArrowDown")
    assert page.evaluate(active) == items.nth(1).inner_text().strip()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # wraps to the last item
    assert page.evaluate(active) == items.last.inner_text().strip()
    page.keyboard.press("Escape")
    assert page.is_hidden("#user-menu")
    assert page.evaluate("() => document.activeElement.id") == "user-button"


def test_ten_foot_mode_is_automatic_on_a_big_screen_without_hover(ui_world: UiWorld, new_page: Any) -> None:
    # a TV browser: big viewport, no hover, a coarse pointer (touch emulation reports both)
    tv = new_page({"width": 1920, "height": 1080}, has_touch=True)
    login(tv, ui_world.url)
    assert tv.evaluate("() => matchMedia('(hover: none)').matches && matchMedia('(pointer: coarse)').matches")
    tv.goto(f"{ui_world.url}/search?q=%E6%98%9F")
    tv.wait_for_selector("#results-exact .card-title")
    assert tv.evaluate("() => 'tv' in document.documentElement.dataset")
    size = tv.eval_on_selector(".card-title", "(el) => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 20
    width = tv.eval_on_selector(".page", "(el) => el.getBoundingClientRect().width")
    assert width >= 1900
    # a laptop does not get it; ?tv=on forces it, ?tv=auto gives the choice back
    laptop = new_page(DESKTOP)
    login(laptop, ui_world.url)
    assert not laptop.evaluate("() => 'tv' in document.documentElement.dataset")
    laptop.goto(f"{ui_world.url}/?tv=on")
    assert laptop.evaluate("() => 'tv' in document.documentElement.dataset")
    laptop.goto(f"{ui_world.url}/search")
    assert laptop.evaluate("() => 'tv' in document.documentElement.dataset")
    laptop.goto(f"{ui_world.url}/?tv=auto")
    assert not laptop.evaluate("() => 'tv' in document.documentElement.dataset")
