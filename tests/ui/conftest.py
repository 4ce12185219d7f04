"""Fixtures of the web UI tests: HLS media made once per session, a started "world" (CDN, fake sources, app)
per test, Debian's chromium driven by Playwright, and screenshots of every page on failure."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.support import REPO, UiWorld, media_dir, missing_tools, start_world

ARTIFACTS = REPO / "artifacts" / "ui"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
FAILURE_PAGES = [
    "/login",
    "/",
    "/?tab=favorites",
    "/search",
    "/search?q=%E6%98%9F",
    "/play?source=alpha&id=101&title=x",
    "/nope",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def ui_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = missing_tools()
    if missing:
        pytest.fail(
            "web UI tests need: " + ", ".join(missing) + " (scripts/bootstrap.sh --test installs them)"
        )
    return media_dir(tmp_path_factory.mktemp("ui-media"))


@pytest.fixture
def ui_world(tmp_path: Path, ui_media: Path) -> Iterator[UiWorld]:
    w = start_world(tmp_path / "world", media=ui_media)
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="module")
def browser(browser: Any) -> Any:
    """The module's shared browser (tests/conftest.py), once the UI tests' tools are known present."""
    missing = missing_tools()
    if missing:
        pytest.fail("web UI tests need: " + ", ".join(missing))
    return browser


@pytest.fixture
def new_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport=DESKTOP, **options)``: a page in a fresh context, muted video, console kept.

    On failure every open page is saved, and every main page of the app at both viewport sizes, under
    ``artifacts/ui/<test>/``.
    """
    contexts: list[Any] = []
    pages: list[Any] = []

    def make(viewport: dict[str, int] | None = None, **options: Any) -> Any:
        viewport = viewport or DESKTOP
        mobile = viewport["width"] < 600
        options.setdefault("service_workers", "block")
        options.setdefault("is_mobile", mobile)
        options.setdefault("has_touch", mobile)
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(20_000)
        context.add_init_script("try { localStorage.setItem('moontv_muted', 'true'); } catch (e) {}")
        contexts.append(context)
        page = context.new_page()
        page.console_messages_seen = []  # type: ignore[attr-defined]
        page.on("console", lambda m, page=page: page.console_messages_seen.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e, page=page: page.console_messages_seen.append(f"pageerror: {e}"))
        pages.append(page)
        return page

    yield make
    if request.node.stash.get(_FAILED, False):
        folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
        folder.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(pages):
            try:
                size = page.viewport_size or DESKTOP
                page.screenshot(path=str(folder / f"open-{index}-{size['width']}x{size['height']}.png"))
                (folder / f"open-{index}-console.txt").write_text("\n".join(page.console_messages_seen))
            except Exception:  # the page may be gone already
                pass
        world = request.node.funcargs.get("ui_world")
        if world is not None:
            _screenshot_every_page(browser, world, folder)
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


def _screenshot_every_page(browser: Any, world: UiWorld, folder: Path) -> None:
    for viewport in (PHONE, DESKTOP):
        context = browser.new_context(viewport=viewport, service_workers="block")
        try:
            page = context.new_page()
            login(page, world.url)
            for path in FAILURE_PAGES:
                name = re.sub(r"[^\w]+", "_", path).strip("_") or "home"
                try:
                    if path == "/login":
                        context.clear_cookies()
                    page.goto(world.url + path, wait_until="load", timeout=10_000)
                    page.wait_for_timeout(800)
                    page.screenshot(path=str(folder / f"{name}-{viewport['width']}x{viewport['height']}.png"))
                    if path == "/login":
                        login(page, world.url)
                except Exception:
                    pass
        except Exception:
            pass
        finally:
            context.close()


def login(page: Any, base: str, username: str = "admin", password: str = "test") -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
