"""The about dialog: the running version and the packaged changelog, with no request leaving the host."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from moontv import __version__
from moontv.web.changelog import releases
from tests.ui.conftest import DESKTOP, login
from tests.ui.support import UiWorld


def test_changelog_starts_with_the_running_version() -> None:
    notes = releases("en")
    assert notes[0]["version"] == __version__
    assert notes[0]["changes"] and notes[0]["date"]
    assert releases("fr")[0]["changes"] == releases("zh-CN")[0]["changes"]


def test_about_dialog_shows_version_and_latest_entry(ui_world: UiWorld, new_page: Any) -> None:
    page = new_page(DESKTOP)
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).hostname or r.url.split(":", 1)[0]))
    login(page, ui_world.url)
    page.goto(f"{ui_world.url}/search")
    page.wait_for_load_state("load")
    page.click("#user-button")
    page.click("#user-menu [data-open=about-dialog]")
    dialog = page.locator("#about-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator("#about-version").inner_text() == f"v{__version__}"
    latest = releases("zh-CN")[0]
    entry = dialog.locator(".release").first
    assert entry.get_attribute("data-version") == latest["version"]
    assert entry.locator("li").first.inner_text() == latest["changes"][0]
    dialog.locator("button[value=cancel]").click()
    assert dialog.is_hidden()
    assert hosts <= {"127.0.0.1", "data", "blob"}, hosts
