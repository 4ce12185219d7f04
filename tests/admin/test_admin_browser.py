"""Playwright smoke test of the admin panel in Debian's chromium: add a source, check validity, ban a
user, export a backup and import it back."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.fake_cms import FakeCms
from tests.support import CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()), reason="chromium missing"
)


@pytest.fixture
def storage_kind() -> str:
    return "sqlite"


def test_admin_panel_smoke(live_app, fake_cms: FakeCms, tmp_path: Path, browser: Any) -> None:
    server = live_app(None, allow_private_upstreams="127.0.0.1/32", refresh_interval=0)
    api = server.login()
    with admin_page(browser) as page:
        sign_in(page, server.url)
        add_source(page, api, f"{fake_cms.url}/api.php/provide/vod")
        check_validity_with_progress(page)
        add_then_ban_a_user(page, api)
        backup = export_backup(page, tmp_path)
        # change things, then import the backup back
        api.post("/api/admin/source", json={"action": "delete", "key": "local"})
        api.post("/api/admin/user", json={"action": "unban", "targetUsername": "viewer"})
        import_backup(page, backup)


# -- the steps -----------------------------------------------------------------------------------------


@contextmanager
def admin_page(browser: Any) -> Iterator[Any]:
    """A page in the shared chromium; fails on any page error, leaves a screenshot in artifacts/ when
    a step fails."""
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
        assert errors == []
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin-smoke-failure.png"), full_page=True)
        raise
    finally:
        context.close()


def sign_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/login?redirect=/admin")
    page.fill("#username", "admin")
    page.fill("#password", "test")
    page.press("#password", "Enter")
    page.wait_for_url(f"{base_url}/admin")
    page.wait_for_selector("#admin-version:not(:text('-'))")


def add_source(page: Any, api: httpx.Client, cms_api: str) -> None:
    form = page.locator("#source-form")
    form.locator("input[name=name]").fill("本地源")
    form.locator("input[name=key]").fill("local")
    form.locator("input[name=api]").fill(cms_api)
    form.locator("#source-submit").click()
    page.wait_for_selector("#sources-table tr[data-key=local]")
    assert "local" in [s["key"] for s in api.get("/api/admin/config").json()["Config"]["SourceConfig"]]


def check_validity_with_progress(page: Any) -> None:
    page.fill("#check-query", "星")
    page.click("#check-sources")
    page.wait_for_selector("#check-panel[data-status=done]", timeout=30000)
    row = page.locator("#check-results tr[data-key=local]")
    # the fake's titles answer the search, but their stream host does not exist: dead, not "ok"
    assert row.get_attribute("data-status") == "failed"
    assert row.locator("td").nth(3).inner_text() == "✓"
    assert row.locator("td").nth(5).inner_text() == "✗"
    assert page.locator("#check-progress").get_attribute("value") == "1"


def add_then_ban_a_user(page: Any, api: httpx.Client) -> None:
    add = page.locator("#user-add-form")
    add.locator("input[name=username]").fill("viewer")
    add.locator("input[name=password]").fill("viewer-pw")
    add.locator("button[type=submit]").click()
    user_row = page.locator("#users-table tr[data-username=viewer]")
    user_row.wait_for()
    user_row.locator("button[data-act=ban]").click()
    page.locator("#confirm-dialog button[value=ok]").click()
    page.wait_for_selector("#users-table tr[data-username=viewer].is-disabled")
    users = api.get("/api/admin/config").json()["Config"]["UserConfig"]["Users"]
    assert next(u for u in users if u["username"] == "viewer")["banned"] is True


def export_backup(page: Any, folder: Path) -> Path:
    page.locator("#section-backup summary").click()
    page.fill("#export-form input[name=password]", "backup-pass")
    with page.expect_download() as download_info:
        page.click("#export-form button[type=submit]")
    download = download_info.value
    assert download.suggested_filename.startswith("moontv-backup-")
    saved = folder / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"MTVB")
    return saved


def import_backup(page: Any, backup: Path) -> None:
    page.set_input_files("#import-form input[name=file]", str(backup))
    page.fill("#import-form input[name=password]", "backup-pass")
    page.click("#import-form button[type=submit]")
    page.locator("#confirm-dialog button[value=ok]").click()
    page.wait_for_selector("#import-result[data-status=ok]", timeout=30000)
    page.wait_for_selector("#sources-table tr[data-key=local]")
    assert "数据导入成功" in page.inner_text("#import-result")
    # the page's own session was renewed by the import: it can still read the config
    page.click("#reload-config")
    page.wait_for_selector("#users-table tr[data-username=viewer].is-disabled")
