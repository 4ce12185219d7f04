"""The search-source selector: the chosen subset is remembered in localStorage (`savedSources`) and
only those sources are searched, across reloads."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.ui.conftest import DESKTOP, login
from tests.ui.support import UiWorld

QUERY = "%E6%98%9F"  # 星: titles in both healthy sources


def wait_for_results(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('search-spinner').hidden", timeout=30_000)


def card_sources(page: Any) -> set[str]:
    """The sources of the result cards, one card per result (aggregation switched off)."""
    page.evaluate(
        "() => { const t = document.getElementById('aggregate-toggle'); if (t.checked) t.click(); }"
    )
    keys = page.eval_on_selector_all(".grid .card[data-key]", "(cards) => cards.map((c) => c.dataset.key)")
    return {key.split("+", 1)[0] for key in keys}


def test_saved_sources_limit_the_search_and_survive_a_reload(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(DESKTOP)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/search?q={QUERY}")
    wait_for_results(page)
    assert {"alpha", "beta"} <= card_sources(page)

    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/api/search?" in r.url else None)
    page.click("#sources-button")
    dialog = page.locator("#sources-dialog")
    dialog.wait_for(state="visible")
    boxes = dialog.locator("input[name=source]")
    assert boxes.count() >= 3
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
    dialog.locator("input[value=beta]").check()
    with page.expect_navigation():
        dialog.locator("button[value=save]").click()
    wait_for_results(page)
    assert page.evaluate("() => JSON.parse(localStorage.getItem('savedSources'))") == ["beta"]
    assert searches and parse_qs(urlsplit(searches[-1]).query)["sources"] == ["beta"]
    assert card_sources(page) == {"beta"}

    page.reload()
    wait_for_results(page)
    assert card_sources(page) == {"beta"}
    page.click("#sources-button")
    assert dialog.locator("input[value=beta]").is_checked()
    assert not dialog.locator("input[value=alpha]").is_checked()

    # none checked: every source again, and the choice is forgotten
    dialog.locator("#sources-none").click()
    with page.expect_navigation():
        dialog.locator("button[value=save]").click()
    wait_for_results(page)
    assert page.evaluate("() => localStorage.getItem('savedSources')") is None
    assert {"alpha", "beta"} <= card_sources(page)
