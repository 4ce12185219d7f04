"""Simple mode (localStorage `simpleMode`, a settings switch): the navigation keeps only home and search,
the home page has only the 历史 and 收藏夹 tabs (历史 by default) and asks for no Douban or Bangumi rows."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import DESKTOP, login
from tests.ui.support import UiWorld, seed_user_data

ROW_APIS = ("/api/douban/categories", "/api/bangumi/calendar")


def visible_nav(page: Any) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        ".topnav a",
        "(links) => links.filter((a) => a.offsetParent !== null).map((a) => a.getAttribute('href'))",
    )


def save_settings(page: Any, simple: bool) -> None:
    page.click("#user-button")
    page.click("#user-menu [data-open=settings-dialog]")
    dialog = page.locator("#settings-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("input[name=simpleMode]").set_checked(simple)
    with page.expect_navigation():
        dialog.locator("button[value=save]").click()
    page.wait_for_load_state("load")


def test_simple_mode_trims_nav_and_home_rows(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(DESKTOP)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if any(a in r.url for a in ROW_APIS) else None)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/")
    page.wait_for_load_state("load")
    page.evaluate(
        "() => { const d = document.getElementById('announcement-dialog'); if (d && d.open) d.close(); }"
    )
    page.wait_for_load_state("networkidle")
    assert "/live" in visible_nav(page) and "/douban?type=movie" in visible_nav(page)
    assert asked, "the full home page asks for its recommendation rows"

    save_settings(page, True)
    assert page.evaluate("() => JSON.parse(localStorage.getItem('simpleMode'))") is True
    asked.clear()
    page.goto(f"{ui_world.url}/")
    page.wait_for_load_state("networkidle")
    assert visible_nav(page) == ["/", "/search"]
    assert asked == []

    page.evaluate(
        "() => { const d = document.getElementById('announcement-dialog'); if (d && d.open) d.close(); }"
    )
    save_settings(page, False)
    assert "/douban?type=tv" in visible_nav(page)


def tab_labels(page: Any) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        ".tabs [role=tab]",
        "(tabs) => tabs.filter((t) => t.offsetParent !== null).map((t) => t.textContent.trim())",
    )


def selected_tab(page: Any) -> str:
    return page.get_attribute(".tabs [role=tab][aria-selected=true]", "data-tab")  # type: ignore[no-any-return]


def visible_panels(page: Any) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        ".tab-panel", "(panels) => panels.filter((p) => !p.hidden).map((p) => p.id)"
    )


def test_simple_mode_home_has_only_history_and_favorites_tabs(ui_world: UiWorld, new_page: Any) -> None:
    seed_user_data(ui_world)
    page = new_page(DESKTOP)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/")
    page.wait_for_load_state("load")
    page.evaluate(
        "() => { const d = document.getElementById('announcement-dialog'); if (d && d.open) d.close(); }"
    )
    assert tab_labels(page) == ["首页", "历史", "收藏夹"] and selected_tab(page) == "home"

    save_settings(page, True)
    page.goto(f"{ui_world.url}/")
    page.wait_for_function("() => !document.getElementById('tab-home')")
    assert tab_labels(page) == ["历史", "收藏夹"]
    assert selected_tab(page) == "history"
    assert visible_panels(page) == ["panel-history"]
    assert page.locator("#panel-history .card").count() == 4  # the seeded play records
    assert page.locator("h1").count() == 1

    page.click("#tab-favorites")
    assert selected_tab(page) == "favorites" and visible_panels(page) == ["panel-favorites"]
    assert page.url.endswith("/?tab=favorites")
    # arrow keys move between the two tabs only
    page.focus("#tab-favorites")
    page.keyboard.press("ArrowRight")
    assert selected_tab(page) == "history" and visible_panels(page) == ["panel-history"]
    page.keyboard.press("ArrowLeft")
    assert selected_tab(page) == "favorites"

    # an explicit tab is kept; ?tab=home (an old link) lands on 历史
    page.goto(f"{ui_world.url}/?tab=favorites")
    page.wait_for_function("() => !document.getElementById('tab-home')")
    assert selected_tab(page) == "favorites" and visible_panels(page) == ["panel-favorites"]
    page.goto(f"{ui_world.url}/?tab=home")
    page.wait_for_function("() => !document.getElementById('tab-home')")
    assert selected_tab(page) == "history" and visible_panels(page) == ["panel-history"]

    page.evaluate(
        "() => { const d = document.getElementById('announcement-dialog'); if (d && d.open) d.close(); }"
    )
    save_settings(page, False)
    page.goto(f"{ui_world.url}/")
    page.locator("#tab-home").wait_for()
    assert tab_labels(page) == ["首页", "历史", "收藏夹"] and selected_tab(page) == "home"
    assert visible_panels(page) == ["panel-home"]
