#!/usr/bin/env python3
"""Screenshots of every page of the web UI at 390x844 (phone) and 1440x900 (desktop), and the page weight.

Starts the real app against fake Apple CMS sources whose episodes are real HLS made by ffmpeg (served by a
local CORS "CDN"), seeds some history and favorites, drives Debian's chromium with Playwright and writes
``<page>-<width>x<height>.png`` files into the output folder. Prints the search page's weight: bytes of
HTML + JS + CSS as the browser received them, hls.js excluded (the search page does not load it).

    .venv/bin/python scripts/screenshots.py [--out artifacts/screenshots] [--lang zh-CN|en]
        [--theme system|light|dark] [--color-scheme dark|light]

Needs what the test suite needs: ffmpeg, chromium, hls.js (scripts/bootstrap.sh --test installs them).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from tests.support import CHROMIUM, CHROMIUM_ARGS, LiveServer, settings_for, write_config  # noqa: E402
from tests.ui.support import missing_tools, seed_user_data, start_world  # noqa: E402

VIEWPORTS = [(390, 844), (1440, 900)]
WEIGHT_TYPES = {"document", "script", "stylesheet"}


def wait_search_done(page: Page) -> None:
    page.wait_for_function(
        "() => { const s = document.getElementById('search-spinner'); return s && s.hidden; }"
    )


def wait_playing(page: Page, seconds: float = 2.5) -> None:
    page.wait_for_function(
        f"() => {{ const v = document.getElementById('player'); return v && v.currentTime > {seconds}; }}"
    )


def shoot(page: Page, out: Path, name: str, size: tuple[int, int]) -> Path:
    page.wait_for_timeout(350)  # let fades and lazy images settle
    path = out / f"{name}-{size[0]}x{size[1]}.png"
    page.screenshot(path=str(path))
    return path


def search_page_weight(browser, base: str, storage_state: dict) -> tuple[int, dict[str, int]]:  # type: ignore[no-untyped-def]
    context = browser.new_context(service_workers="block", storage_state=storage_state)
    page = context.new_page()
    sizes: dict[str, int] = {}

    def on_response(response) -> None:  # type: ignore[no-untyped-def]
        if response.request.resource_type in WEIGHT_TYPES and "/vendor/hls" not in response.url:
            with contextlib.suppress(Exception):  # a redirect has no body
                sizes[response.url.replace(base, "")] = len(response.body())

    page.on("response", on_response)
    page.goto(f"{base}/search?q=%E6%98%9F", wait_until="networkidle")
    wait_search_done(page)
    context.close()
    return sum(sizes.values()), sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "screenshots")
    parser.add_argument("--theme", choices=["system", "light", "dark"], default="system")
    parser.add_argument(
        "--color-scheme", choices=["light", "dark"], default="dark", help="the system preference"
    )
    parser.add_argument("--lang", choices=["zh-CN", "en"], default="zh-CN")
    parser.add_argument(
        "--viewport",
        action="append",
        metavar="WxH",
        help="a viewport size (repeatable); default 390x844 and 1440x900",
    )
    parser.add_argument("--tv", action="store_true", help="the 10-foot mode (as a TV browser gets it)")
    args = parser.parse_args()
    viewports = [tuple(int(n) for n in v.lower().split("x")) for v in args.viewport or []] or VIEWPORTS
    missing = missing_tools()
    if missing:
        print("missing: " + ", ".join(missing) + " (run scripts/bootstrap.sh --test)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="moontv-shots-") as tmp:
        started = time.monotonic()
        w = start_world(Path(tmp) / "world")
        locked_dir = Path(tmp) / "locked"
        locked_dir.mkdir()
        write_config(locked_dir / "config.json", {})
        locked = LiveServer(settings_for(locked_dir, password="")).start()
        try:
            seed_user_data(w)
            w.server.call(w.server.state.auth.create_user("newcomer", "newcomer-pw"))
            base = w.url
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                cookies = [
                    {"name": "lang", "value": args.lang, "url": base},
                    {"name": "theme", "value": args.theme, "url": base},
                ]
                storage_state: dict = {}
                for width, height in viewports:
                    mobile = width < 600
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        device_scale_factor=1,
                        is_mobile=mobile,
                        has_touch=mobile,
                        color_scheme=args.color_scheme,
                        locale="zh-CN" if args.lang == "zh-CN" else "en-US",
                        service_workers="block",
                    )
                    context.add_cookies(cookies)
                    context.add_init_script(
                        "try { localStorage.setItem('moontv_muted', 'true');"
                        + (" localStorage.setItem('tvMode', 'on');" if args.tv else "")
                        + " } catch (e) {}"
                    )
                    page = context.new_page()
                    size = (width, height)
                    page.goto(f"{base}/login")
                    written.append(shoot(page, args.out, "login", size))
                    page.fill("#username", "admin")
                    page.fill("#password", "test")
                    page.click("#login-submit")
                    page.wait_for_url(f"{base}/")
                    page.wait_for_load_state("networkidle")
                    # the site announcement greets a first visit; then the home page itself
                    page.wait_for_selector("#announcement-dialog[open]")
                    written.append(shoot(page, args.out, "announcement", size))
                    page.click("#announcement-dialog .btn-primary")
                    written.append(shoot(page, args.out, "home", size))
                    page.goto(f"{base}/?tab=favorites", wait_until="networkidle")
                    written.append(shoot(page, args.out, "favorites", size))
                    page.goto(f"{base}/search", wait_until="networkidle")
                    written.append(shoot(page, args.out, "search-empty", size))
                    page.goto(f"{base}/search?q=%E6%98%9F", wait_until="domcontentloaded")
                    wait_search_done(page)
                    page.wait_for_load_state("networkidle")
                    written.append(shoot(page, args.out, "search", size))
                    page.click("#failed-button")
                    written.append(shoot(page, args.out, "search-failed", size))
                    page.goto(
                        f"{base}/play?source=alpha&id=101&title=%E6%98%9F%E9%99%85%E8%BF%B7%E8%88%AA%EF%BC%9A%E5%BD%92%E9%80%94"
                    )
                    wait_playing(page, 3.5)
                    page.mouse.move(width / 2, 120)
                    written.append(shoot(page, args.out, "play", size))
                    page.click("#tab-sources")
                    page.wait_for_timeout(600)
                    written.append(shoot(page, args.out, "play-sources", size))
                    page.goto(f"{base}/", wait_until="networkidle")
                    page.click("#user-button")
                    page.click("[data-open=settings-dialog]")
                    written.append(shoot(page, args.out, "settings", size))
                    page.goto(f"{base}/no-such-page")
                    written.append(shoot(page, args.out, "notfound", size))
                    page.goto(f"{locked.url}/")  # a server without PASSWORD sends every page here
                    page.wait_for_url(f"{locked.url}/warning")
                    written.append(shoot(page, args.out, "warning", size))
                    storage_state = context.storage_state()
                    context.close()
                    # a brand-new account: the welcome state of the home page
                    fresh = browser.new_context(
                        viewport={"width": width, "height": height},
                        is_mobile=mobile,
                        has_touch=mobile,
                        color_scheme=args.color_scheme,
                        service_workers="block",
                    )
                    fresh.add_cookies(cookies)
                    page = fresh.new_page()
                    page.goto(f"{base}/login")
                    page.fill("#username", "newcomer")
                    page.fill("#password", "newcomer-pw")
                    page.click("#login-submit")
                    page.wait_for_url(f"{base}/")
                    page.wait_for_selector("#announcement-dialog[open]")
                    page.click("#announcement-dialog .btn-primary")
                    written.append(shoot(page, args.out, "home-new", size))
                    fresh.close()
                total, sizes = search_page_weight(browser, base, storage_state)
                browser.close()
        finally:
            locked.stop()
            w.stop()
    for path in written:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    print()
    for url, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {size:>8}  {url}")
    print(f"search page weight: {total} bytes of HTML+JS+CSS (hls.js excluded)")
    print(f"{len(written)} screenshots in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
