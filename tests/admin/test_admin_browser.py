"""Playwright smoke test of the admin panel in Debian's chromium: add a source, check validity, ban a
user, export a backup and import it back."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

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
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server.url}/login?redirect=/admin")
        page.fill("#username", "admin")
        page.fill("#password", "test")
        page.press("#password", "Enter")
        page.wait_for_url(f"{server.url}/admin")
        page.wait_for_selector("#admin-version:not(:text('-'))")

        # add a source
        form = page.locator("#source-form")
        form.locator("input[name=name]").fill("本地源")
        form.locator("input[name=key]").fill("local")
        form.locator("input[name=api]").fill(f"{fake_cms.url}/api.php/provide/vod")
        form.locator("#source-submit").click()
        page.wait_for_selector("#sources-table tr[data-key=local]")
        assert "local" in [s["key"] for s in api.get("/api/admin/config").json()["Config"]["SourceConfig"]]

        # check validity, with the progress view
        page.fill("#check-query", "星")
        page.click("#check-sources")
        page.wait_for_selector("#check-panel[data-status=done]", timeout=30000)
        row = page.locator("#check-results tr[data-key=local]")
        # the fake's titles answer the search, but their stream host does not exist: dead, not "ok"
        assert row.get_attribute("data-status") == "failed"
        assert row.locator("td").nth(3).inner_text() == "✓"
        assert row.locator("td").nth(5).inner_text() == "✗"
        assert page.locator("#check-progress").get_attribute("value") == "1"

        # add a user, then ban them
        add = page.locator("#user-add-form")
        add.locator("input[name=username]").fill("viewer")
        add.locator("input[name=password]").fill("viewer-pw")
        add.locator("button[type=submit]").click()
        user_row = page.locator("#users-table tr[data-username=viewer]")
        user_row.wait_for()
        user_row.locator("button[data-act=ban]").click()
        page.locator("#confirm-dialog button[value=ok]").click()
        page.wait_for_selector("#users-table tr[data-username=viewer].is-disabled")
        viewer = next(
            u
            for u in api.get("/api/admin/config").json()["Config"]["UserConfig"]["Users"]
            if u["username"] == "viewer"
        )
        assert viewer["banned"] is True

        # export a backup
        page.locator("#section-backup summary").click()
        page.fill("#export-form input[name=password]", "backup-pass")
        with page.expect_download() as download_info:
            page.click("#export-form button[type=submit]")
        download = download_info.value
        assert download.suggested_filename.startswith("moontv-backup-")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        assert saved.read_bytes().startswith(b"MTVB")

        # change things, then import the backup back
        api.post("/api/admin/source", json={"action": "delete", "key": "local"})
        api.post("/api/admin/user", json={"action": "unban", "targetUsername": "viewer"})
        page.set_input_files("#import-form input[name=file]", str(saved))
        page.fill("#import-form input[name=password]", "backup-pass")
        page.click("#import-form button[type=submit]")
        page.locator("#confirm-dialog button[value=ok]").click()
        page.wait_for_selector("#import-result[data-status=ok]", timeout=30000)
        page.wait_for_selector("#sources-table tr[data-key=local]")
        assert "数据导入成功" in page.inner_text("#import-result")
        # the page's own session was renewed by the import: it can still read the config
        page.click("#reload-config")
        page.wait_for_selector("#users-table tr[data-username=viewer].is-disabled")
        assert errors == []
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin-smoke-failure.png"), full_page=True)
        raise
    finally:
        context.close()
