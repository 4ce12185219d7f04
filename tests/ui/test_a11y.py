"""axe-core finds no serious or critical WCAG 2.2 A/AA violation on any page, in either theme, at phone or
desktop size; and the specific findings of the household walk-through stay fixed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.a11y import AXE, PAGES, audit_world
from tests.ui.conftest import DESKTOP, login
from tests.ui.support import UiWorld, seed_user_data


def test_no_serious_or_critical_violations_on_any_page(ui_world: UiWorld, browser: Any) -> None:
    if not AXE.exists():
        pytest.fail("axe-core missing: scripts/build_frontend.sh copies it to tests/ui/vendor/")
    seed_user_data(ui_world)
    audits = list(audit_world(browser, ui_world))
    assert len(audits) == len(PAGES) * 4
    failing = [audit.describe() for audit in audits if audit.blocking]
    assert not failing, "\n".join(failing)
    # best-practice findings that the walk-through named: one h1, unique landmarks, heading order
    named = {"page-has-heading-one", "landmark-unique", "heading-order", "empty-table-header"}
    left = [f"{a.page} {a.theme} {a.size}: {v.rule}" for a in audits for v in a.violations if v.rule in named]
    assert not left, left


def test_filter_selects_show_where_the_keyboard_is(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(DESKTOP)
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/search?q=%E6%98%9F")
    page.wait_for_function("() => document.getElementById('search-spinner').hidden")
    page.focus("#filter-source")
    page.keyboard.press("Tab")  # keyboard focus on the next filter: its pill shows a ring
    assert page.evaluate("() => document.activeElement.id") == "filter-title"
    style = page.eval_on_selector(
        "#filter-title",
        "(el) => { const s = getComputedStyle(el.closest('.select-pill'));"
        " return [s.outlineStyle, s.outlineWidth]; }",
    )
    assert style[0] == "solid" and float(style[1].removesuffix("px")) >= 2, style
