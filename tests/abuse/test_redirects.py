"""Item 8: no open redirect after sign-in (server-side clean-up and the page's own check)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from moontv.web.redirects import safe_redirect
from tests.support import LiveServer, settings_for, write_config

HOSTILE = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example/x",
    "//evil.example",
    "/\\evil.example",
    "/\t\\evil.example",
    "https://evil.example/",
    "\t//evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_redirects_become_the_home_page(raw: str) -> None:
    assert safe_redirect(raw) == "/"


@pytest.mark.parametrize("raw", ["/", "/search?q=%E4%B8%AD", "/play?source=a&id=1#t=3"])
def test_same_site_paths_are_kept(raw: str) -> None:
    assert safe_redirect(raw) == raw


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    write_config(tmp_path / "config.json", {})
    live = LiveServer(settings_for(tmp_path)).start()
    yield live
    live.stop()


@pytest.mark.parametrize(
    ("raw", "landing"),
    [("/\t/evil.example", "/"), ("/\n\\evil.example", "/"), ("/search?q=abc", "/search?q=abc")],
)
def test_sign_in_lands_on_this_site(browser: Any, server: LiveServer, raw: str, landing: str) -> None:
    """Base code: ``/login?redirect=/%09/evil.example`` passed the page's check and left the site."""
    context = browser.new_context()
    off_site: list[str] = []

    def only_here(route: Any) -> None:
        if urlsplit(route.request.url).netloc != urlsplit(server.url).netloc:
            off_site.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_here)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/login?redirect={quote(raw, safe='')}")
        page.fill("#username", "admin")
        page.fill("#password", "test")
        page.click("#login-submit")
        page.wait_for_url(re.compile(r"^(?!.*/login).*$"), timeout=15_000)
        final = urlsplit(page.url)
        assert final.netloc == urlsplit(server.url).netloc, page.url
        assert final.path + (f"?{final.query}" if final.query else "") == landing
        assert off_site == []
    finally:
        context.close()
