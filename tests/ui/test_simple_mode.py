"""Simple mode (localStorage `simpleMode`, a settings switch): the navigation keeps only home and search
and the home page asks for no Douban or Bangumi rows."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import DESKTOP, login
from tests.ui.support import UiWorld

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
