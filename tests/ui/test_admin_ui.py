"""The admin panel for its owner: the source check finds dead stream hosts, dialogs replace window.prompt,
errors name the field as the form shows it, and the English locale is English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import DESKTOP, login
from tests.ui.support import UiWorld, start_world

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def dead_world(tmp_path: Path, ui_media: Path) -> Any:
    w = start_world(tmp_path / "world", media=ui_media, dead_streams=True)
    try:
        yield w
    finally:
        w.stop()


def open_admin(page: Any, w: UiWorld) -> None:
    login(page, w.url)
    page.goto(f"{w.url}/admin")
    page.wait_for_selector("#sources-table tbody tr")


def test_source_check_reports_a_source_whose_playlists_404_as_dead(
    dead_world: UiWorld, new_page: Any
) -> None:
    page = new_page(DESKTOP)
    page.on("dialog", lambda d: pytest.fail(f"window.{d.type} opened: {d.message}"))
    open_admin(page, dead_world)
    assert page.input_value("#check-query") == ""  # default: each source's own newest title
    page.click("#check-sources")
    page.wait_for_selector("#check-panel[data-status=done]", timeout=60_000)
    status = {
        row.get_attribute("data-key"): row.get_attribute("data-status")
        for row in page.locator("#check-results tbody tr").all()
    }
    assert status == {"delta": "failed", "alpha": "ok", "beta": "ok", "gamma": "failed"}
    dead = page.locator("#check-results tr[data-key=delta] td")
    assert dead.nth(3).inner_text() == "✓"  # its search works ...
    assert dead.nth(5).inner_text() == "✗"  # ... its stream does not
    assert "404" in dead.nth(8).inner_text()
    keyword = page.locator("#check-results tr[data-key=alpha] td").nth(7).inner_text()
    assert keyword  # a title of alpha's own latest list


def test_user_dialogs_replace_prompts(ui_world: UiWorld, new_page: Any) -> None:
    ui_world.server.call(ui_world.server.state.auth.create_user("viewer", "viewer-pw"))
    page = new_page(DESKTOP)
    page.on("dialog", lambda d: pytest.fail(f"window.{d.type} opened: {d.message}"))
    open_admin(page, ui_world)
    row = page.locator("#users-table tr[data-username=viewer]")
    row.wait_for()

    # password: two masked fields, a mismatch is explained in the dialog, focus returns to the button
    opener = row.locator("button[data-act=changePassword]")
    opener.click()
    dialog = page.locator("#user-password-dialog")
    assert dialog.evaluate("(d) => d.open")
    assert dialog.locator("input[type=password]").count() == 2
    dialog.locator("input[name=password]").fill("new-secret-1")
    dialog.locator("input[name=repeat]").fill("new-secret-2")
    dialog.locator("button[value=ok]").click()
    assert dialog.locator(".form-error").is_visible()
    dialog.locator("input[name=repeat]").fill("new-secret-1")
    dialog.locator("button[value=ok]").click()
    page.wait_for_function("() => !document.getElementById('user-password-dialog').open")
    assert page.evaluate("() => document.activeElement.dataset.act") == "changePassword"
    page.wait_for_selector(".toast:has-text('密码已修改')")
    client = ui_world.server.login("viewer", "new-secret-1")
    client.close()

    # sources: a checklist of the configured sources
    row.locator("button[data-act=setSources]").click()
    sources = page.locator("#user-sources-dialog")
    boxes = sources.locator("input[name=source]")
    assert sorted(boxes.evaluate_all("(bs) => bs.map((b) => b.value)")) == ["alpha", "beta", "gamma"]
    sources.locator("input[value=beta]").check()
    sources.locator("button[value=ok]").click()
    page.wait_for_selector("#users-table tr[data-username=viewer] td.url:text('beta')")
    # Escape cancels and changes nothing
    page.locator("#users-table tr[data-username=viewer] button[data-act=setSources]").click()
    sources.locator("input[value=alpha]").check()
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('user-sources-dialog').open")
    assert page.locator("#users-table tr[data-username=viewer] td.url").inner_text() == "beta"


def test_errors_name_the_field_as_the_form_shows_it(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(DESKTOP)
    open_admin(page, ui_world)
    page.fill("#site-form input[name=SearchDownstreamMaxPage]", "99")
    page.click("#site-form button[type=submit]")
    toast = page.locator(".toast").last
    toast.wait_for()
    text = toast.inner_text()
    assert "搜索接口可拉取最大页数" in text and "SearchDownstreamMaxPage" not in text
    assert page.evaluate("() => document.activeElement.name") == "SearchDownstreamMaxPage"
    assert page.get_attribute("#site-form input[name=SearchDownstreamMaxPage]", "aria-invalid") == "true"


def test_admin_panel_in_english(ui_world: UiWorld, new_page: Any) -> None:
    ui_world.server.call(ui_world.server.state.auth.create_user("viewer", "viewer-pw"))
    page = new_page(DESKTOP, locale="en-US")
    page.context.add_cookies([{"name": "lang", "value": "en", "url": ui_world.url}])
    open_admin(page, ui_world)
    for section in page.locator("details.admin-section").all():
        section.evaluate("(d) => { d.open = true; }")
    # every text of the page itself (not the sources', users' or groups' own names) is English
    chinese = page.evaluate(
        """() => {
        const data = new Set(["天狐影视", "蓝光资源", "备用线路"]);
        const out = [];
        const walker = document.createTreeWalker(document.getElementById("admin"), NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const text = n.nodeValue.trim();
            const skip = n.parentElement.closest("option, textarea, code");
            if (!text || data.has(text) || skip) continue;
            if (/[\\u3400-\\u9fff]/.test(text)) out.push(text);
        }
        const labelled = "#admin [aria-label], #admin [placeholder], #admin [title]";
        for (const el of document.querySelectorAll(labelled)) {
            for (const a of ["aria-label", "placeholder", "title"]) {
                const v = el.getAttribute(a) || "";
                const mine = ![...data].some((d) => v.includes(d));
                if (/[\\u3400-\\u9fff]/.test(v) && mine) out.push(`${a}=${v}`);
            }
        }
        return out;
    }"""
    )
    assert chinese == [], chinese
    assert page.locator("#section-site summary").inner_text() == "Site"
    page.fill("#site-form input[name=SearchDownstreamMaxPage]", "0")
    page.click("#site-form button[type=submit]")
    toast = page.locator(".toast").last
    toast.wait_for()
    assert (
        toast.inner_text() == "\u201cMost pages fetched per search\u201d must be a whole number from 1 to 50"
    )
    assert not CJK.search(toast.inner_text())
