"""The "自定义" navigation entry: shown only while the site has an enabled custom category, and it
opens the Douban browse page on that category."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import DESKTOP, login
from tests.ui.support import UiWorld

CUSTOM_LINK = ".topnav a[href='/douban?type=custom']"


def admin_post(w: UiWorld, path: str, **body: Any) -> None:
    client = w.server.login()
    try:
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
    finally:
        client.close()


def test_custom_entry_follows_the_site_categories(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(DESKTOP)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/search")
    assert page.locator(CUSTOM_LINK).count() == 0

    admin_post(ui_world, "/api/admin/category", action="add", name="经典港片", type="movie", query="港片")
    page.goto(f"{ui_world.url}/search")
    link = page.locator(CUSTOM_LINK)
    assert link.inner_text().strip() == "自定义"
    with page.expect_navigation():
        link.click()
    assert page.url.endswith("/douban?type=custom")
    assert page.locator(CUSTOM_LINK).get_attribute("aria-current") == "page"
    page.get_by_text("经典港片", exact=True).first.wait_for(timeout=15_000)

    admin_post(ui_world, "/api/admin/category", action="disable", query="港片", type="movie")
    page.goto(f"{ui_world.url}/search")
    assert page.locator(CUSTOM_LINK).count() == 0
