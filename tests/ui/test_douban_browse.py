"""The /douban page in Chromium, clicked: filter chips change what the server is asked and what is shown,
infinite scroll fetches each page once per selection, a tall screen keeps loading until it is filled
(bounded), and answers of a superseded selection never reach the grid.

Every wait is on a concrete condition (requests seen, cards shown), never on elapsed time alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from tests.fakes.douban_fake import FakeDouban
from tests.ui.conftest import DESKTOP, login
from tests.ui.support import UiWorld, start_world

PAGE = 25
TALL = {"width": 1440, "height": 2400}
MARGIN = 600  # douban.js fetches the next page when its sentinel is this close to the viewport
AUTO_PAGES = 8  # douban.js: pages fetched in a row without scrolling before it shows a button


@pytest.fixture
def douban_world(tmp_path: Path, ui_media: Path, douban_fake: FakeDouban) -> Iterator[UiWorld]:
    douban_fake.titles_name_selection = True
    w = start_world(
        tmp_path / "world",
        media=ui_media,
        douban_base=douban_fake.url,
        douban_m_base=douban_fake.url,
        bangumi_base=douban_fake.url,
        douban_cache_ttl=0,
    )
    try:
        yield w
    finally:
        w.stop()


class DoubanPage:
    """A logged-in /douban page whose list requests (browser → app) are recorded in order."""

    def __init__(
        self, new_page: Callable[..., Any], world: UiWorld, viewport: dict[str, int], **options: Any
    ) -> None:
        self.page = new_page(viewport, **options)
        self.world = world
        self.asked: list[str] = []
        self.page.on("request", self._record)
        # posters would be fetched from doubanio.com through the image proxy: not reachable here
        self.page.route("**/api/image-proxy**", lambda route: route.fulfill(status=404, body=""))
        login(self.page, world.url)

    def _record(self, request: Any) -> None:
        # only the /douban page's own requests (the home page asks for its rows too)
        if urlsplit(request.url).path.startswith("/api/douban") and "/douban?" in self.page.url:
            self.asked.append(request.url)

    def open(self, kind: str) -> None:
        self.page.goto(f"{self.world.url}/douban?type={kind}", wait_until="commit")

    # -- what was asked ----------------------------------------------------------------------------
    def queries(self) -> list[dict[str, str]]:
        out = []
        for url in self.asked:
            parts = urlsplit(url)
            out.append({"path": parts.path, **dict(parse_qsl(parts.query))})
        return out

    def starts(self, **selection: str) -> list[int]:
        """The ``start`` values asked for one selection (every other parameter equal), in order."""
        return [
            int(q["start"])
            for q in self.queries()
            if {k: v for k, v in q.items() if k not in ("start", "limit")} == selection
        ]

    def assert_no_duplicate_starts(self) -> None:
        seen: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for q in self.queries():
            key = tuple(sorted((k, v) for k, v in q.items() if k != "start"))
            seen.setdefault(key, []).append(q["start"])
        for key, starts in seen.items():
            assert len(starts) == len(set(starts)), f"duplicate starts {starts} for {dict(key)}"

    # -- what is shown -------------------------------------------------------------------------------
    def titles(self) -> list[str]:
        return self.page.eval_on_selector_all(  # type: ignore[no-any-return]
            "#douban-grid .card-title", "(nodes) => nodes.map((n) => n.textContent)"
        )

    def wait_titles(self, expected: list[str]) -> None:
        self.page.wait_for_function(
            "(want) => JSON.stringify([...document.querySelectorAll('#douban-grid .card-title')]"
            ".map((n) => n.textContent)) === JSON.stringify(want)",
            arg=expected,
            timeout=30_000,
        )

    def wait_cards(self, make: Callable[[range], list[str]], at_least: int = PAGE) -> None:
        """At least ``at_least`` cards, all of one selection, in order and none twice (the page may have
        fetched more on its own when the first pages do not fill the screen)."""

        def shown() -> bool:
            titles = self.titles()
            return len(titles) >= at_least and titles == make(range(len(titles)))

        self.wait_until(shown, f"{make(range(1))} ... x{at_least}")

    def click_chip(self, group: str, value: str) -> None:
        chip = self.page.locator(f"#douban-filters [data-name='{group}'] .chip[data-value='{value}']")
        chip.click()
        # the filters are re-rendered for the new selection with this chip pressed
        self.page.locator(
            f"#douban-filters [data-name='{group}'] .chip[data-value='{value}'][aria-pressed=true]"
        ).wait_for()

    def scroll_to_end(self) -> None:
        self.page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")

    def wait_until(self, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; asked: {self.queries()}")
            self.page.wait_for_timeout(50)  # lets Playwright deliver the page's events


def hot(category: str, kind: str, type_: str, numbers: range) -> list[str]:
    return [f"{category}{kind}{n}·{type_}" for n in numbers]


def recommended(kind: str, tags: str, sort: str, numbers: range) -> list[str]:
    return [f"推荐{kind}{n}·{tags}/{sort}" for n in numbers]


def assert_pages(starts: list[int]) -> None:
    """Pages 1, 2, ... of one selection, each asked once."""
    assert starts and starts == [n * PAGE for n in range(len(starts))], starts


def upstream(fake: FakeDouban, path: str) -> list[dict[str, str]]:
    return [r["query"] for r in fake.requests if r["path"] == path]


def test_chips_change_what_is_asked_and_shown(
    douban_world: UiWorld, douban_fake: FakeDouban, new_page: Any
) -> None:
    d = DoubanPage(new_page, douban_world, DESKTOP)
    d.open("movie")
    d.wait_cards(lambda r: hot("热门", "movie", "全部", r))
    first = d.queries()[0]
    assert first == {
        "path": "/api/douban/categories",
        "kind": "movie",
        "category": "热门",
        "type": "全部",
        "limit": "25",
        "start": "0",
    }
    d.click_chip("primary", "最新")
    d.wait_cards(lambda r: hot("最新", "movie", "全部", r))
    d.click_chip("secondary", "日本")
    d.wait_cards(lambda r: hot("最新", "movie", "日本", r))
    assert_pages(d.starts(path="/api/douban/categories", kind="movie", category="最新", type="日本"))
    hot_asked = upstream(douban_fake, "/rexxar/api/v2/subject/recent_hot/movie")
    assert {"start": "0", "limit": "25", "category": "最新", "type": "日本"} in hot_asked

    # 全部: Douban's recommend list with the multi-level filter
    d.click_chip("primary", "all")
    d.wait_cards(lambda r: recommended("movie", "", "", r))
    for group in ("category", "region", "year", "sort"):
        assert d.page.locator(f"#douban-filters [data-name='{group}']").is_visible()
    d.click_chip("region", "华语")
    d.wait_cards(lambda r: recommended("movie", "华语", "", r))
    d.click_chip("category", "喜剧")
    d.wait_cards(lambda r: recommended("movie", "喜剧,华语", "", r))
    d.click_chip("year", "2020年代")
    d.wait_cards(lambda r: recommended("movie", "喜剧,华语,2020年代", "", r))
    d.click_chip("sort", "S")
    d.wait_cards(lambda r: recommended("movie", "喜剧,华语,2020年代", "S", r))
    last = {"kind": "movie", "category": "喜剧", "region": "华语", "year": "2020年代", "sort": "S"}
    assert {"path": "/api/douban/recommends", "limit": "25", "start": "0", **last} in d.queries()
    told = [q for q in upstream(douban_fake, "/rexxar/api/v2/movie/recommend") if q.get("sort") == "S"]
    assert told[0]["tags"] == "喜剧,华语,2020年代" and told[0]["count"] == "25" and told[0]["start"] == "0"
    assert '"地区":"华语"' in told[0]["selected_categories"]

    # pressing the chip that is already on asks nothing: the next request is the next selection's
    d.page.locator("#douban-filters [data-name='sort'] .chip[data-value='S']").click()
    d.click_chip("sort", "U")
    d.wait_cards(lambda r: recommended("movie", "喜剧,华语,2020年代", "U", r))
    assert_pages(d.starts(path="/api/douban/recommends", **last))
    d.assert_no_duplicate_starts()


def test_anime_weekday_and_label_chips(douban_world: UiWorld, douban_fake: FakeDouban, new_page: Any) -> None:
    d = DoubanPage(new_page, douban_world, DESKTOP)
    d.open("anime")
    today = d.page.evaluate("() => String(((new Date().getDay() + 6) % 7) + 1)")
    d.page.locator(
        f"#douban-filters [data-name='secondary'] .chip[data-value='{today}'][aria-pressed=true]"
    ).wait_for()
    other = "3" if today != "3" else "5"
    d.click_chip("secondary", other)
    # the fake's day N has 番剧N00, "Anime N01" (no Chinese name) and one item without a picture (dropped)
    d.wait_titles([f"番剧{other}00", f"Anime {other}01"])
    assert d.page.locator("#douban-filters [data-name='label']").count() == 0  # no paging, no filters

    d.click_chip("primary", "series")
    d.wait_cards(lambda r: recommended("tv", "动画", "", r))
    d.click_chip("label", "热血")
    d.wait_cards(lambda r: recommended("tv", "动画,热血", "", r))
    asked = {"kind": "tv", "category": "动画", "format": "电视剧", "label": "热血"}
    assert_pages(d.starts(path="/api/douban/recommends", **asked))
    d.click_chip("primary", "film")
    d.wait_cards(lambda r: recommended("movie", "动画", "", r))
    d.assert_no_duplicate_starts()


def test_scrolling_loads_each_page_once_until_an_empty_page(
    douban_world: UiWorld, douban_fake: FakeDouban, new_page: Any
) -> None:
    d = DoubanPage(new_page, douban_world, DESKTOP)
    d.open("tv")
    selection = {"path": "/api/douban/categories", "kind": "tv", "category": "tv", "type": "tv"}
    d.wait_cards(lambda r: hot("tv", "tv", "tv", r))
    d.scroll_to_end()
    d.wait_cards(lambda r: hot("tv", "tv", "tv", r), 2 * PAGE)
    d.scroll_to_end()
    d.wait_cards(lambda r: hot("tv", "tv", "tv", r), douban_fake.total)  # page 3 is the last 10
    d.scroll_to_end()
    d.page.wait_for_function(
        "() => document.getElementById('douban-status').textContent === '没有更多了'", timeout=30_000
    )
    assert d.starts(**selection) == [0, 25, 50, 75]

    # the end stays the end; a new selection starts over at 0 and scrolls on its own
    d.scroll_to_end()
    d.click_chip("secondary", "tv_domestic")
    d.wait_cards(lambda r: hot("tv", "tv", "tv_domestic", r))
    d.scroll_to_end()
    d.wait_cards(lambda r: hot("tv", "tv", "tv_domestic", r), 2 * PAGE)
    assert d.starts(**selection) == [0, 25, 50, 75]
    assert d.starts(**{**selection, "type": "tv_domestic"})[:2] == [0, 25]
    d.assert_no_duplicate_starts()


def sentinel_top(page: Any) -> float:
    return page.evaluate(  # type: ignore[no-any-return]
        "() => document.getElementById('douban-sentinel').getBoundingClientRect().top"
    )


def card_top(page: Any, index: int) -> float:
    return page.evaluate(  # type: ignore[no-any-return]
        "(i) => document.querySelectorAll('#douban-grid .card')[i].getBoundingClientRect().top", index
    )


def wait_settled(d: DoubanPage) -> None:
    """Nothing in flight and the status says so (empty, or the load-more button)."""
    d.page.wait_for_function(
        "() => { const s = document.getElementById('douban-status');"
        " return s.textContent === '' || !!document.getElementById('douban-more'); }",
        timeout=30_000,
    )


def test_tall_screen_keeps_loading_until_filled(
    douban_world: UiWorld, douban_fake: FakeDouban, new_page: Any
) -> None:
    douban_fake.total = 1000
    d = DoubanPage(new_page, douban_world, TALL)
    d.open("movie")
    selection = {"path": "/api/douban/categories", "kind": "movie", "category": "热门", "type": "全部"}
    d.wait_until(lambda: len(d.starts(**selection)) >= 2, "a second page without scrolling")
    d.page.wait_for_function(
        f"() => document.getElementById('douban-sentinel').getBoundingClientRect().top"
        f" >= window.innerHeight + {MARGIN}",
        timeout=30_000,
    )
    wait_settled(d)
    pages = len(d.starts(**selection))
    assert d.page.evaluate("() => window.scrollY") == 0
    assert d.starts(**selection) == [n * PAGE for n in range(pages)]
    assert len(d.titles()) == pages * PAGE
    assert sentinel_top(d.page) >= TALL["height"] + MARGIN  # filled ...
    # ... and no further than needed: the last page was asked while the screen was not yet filled
    assert card_top(d.page, (pages - 1) * PAGE) < TALL["height"] + MARGIN
    assert d.page.locator("#douban-more").count() == 0
    d.assert_no_duplicate_starts()


def test_automatic_loading_is_bounded_then_asks(
    douban_world: UiWorld, douban_fake: FakeDouban, new_page: Any
) -> None:
    douban_fake.total = 1000
    d = DoubanPage(new_page, douban_world, TALL, bypass_csp=True)  # CSP: style-src 'self'
    # cards a few pixels high: no number of pages would fill the screen
    d.page.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => { const s = document.createElement('style');"
        " s.textContent = '#douban-grid .card { height: 2px; overflow: hidden; }';"
        " document.head.append(s); });"
    )
    d.open("movie")
    selection = {"path": "/api/douban/categories", "kind": "movie", "category": "热门", "type": "全部"}
    more = d.page.locator("#douban-more")
    more.wait_for(timeout=30_000)
    assert d.starts(**selection) == [n * PAGE for n in range(1 + AUTO_PAGES)]
    assert len(d.titles()) == (1 + AUTO_PAGES) * PAGE
    more.click()
    d.wait_until(
        lambda: len(d.starts(**selection)) == 2 * (1 + AUTO_PAGES), "the next automatic run after the button"
    )
    more.wait_for(timeout=30_000)
    assert d.starts(**selection) == [n * PAGE for n in range(2 * (1 + AUTO_PAGES))]
    d.wait_cards(lambda r: hot("热门", "movie", "全部", r), 2 * (1 + AUTO_PAGES) * PAGE)


def test_answers_of_a_superseded_selection_never_show(
    douban_world: UiWorld, douban_fake: FakeDouban, new_page: Any
) -> None:
    douban_fake.total = 1000  # every scroll has a next page
    d = DoubanPage(new_page, douban_world, DESKTOP)
    held: dict[str, Any] = {}

    def hold(name: str) -> None:
        needle = "category=" + quote(name)
        d.page.route(
            re.compile(r".*/api/douban/categories\?.*"),
            lambda route: held.setdefault(name, route) if needle in route.request.url else route.fallback(),
        )

    hold("最新")
    hold("豆瓣高分")
    d.open("movie")
    d.wait_cards(lambda r: hot("热门", "movie", "全部", r))
    d.page.evaluate(
        """() => {
          window.__shown = [];
          new MutationObserver((changes) => { for (const c of changes) for (const n of c.addedNodes)
            if (n.querySelector) window.__shown.push(n.querySelector('.card-title')?.textContent || '');
          }).observe(document.getElementById('douban-grid'), { childList: true });
        }"""
    )

    # a slow answer for 最新 arrives after the user moved on to 冷门佳片
    d.click_chip("primary", "最新")
    d.wait_until(lambda: "最新" in held, "the 最新 request to be held")
    d.click_chip("primary", "冷门佳片")
    d.wait_cards(lambda r: hot("冷门佳片", "movie", "全部", r))
    with d.page.expect_response(lambda r: "category=" + quote("最新") in r.url) as late:
        held["最新"].continue_()
    late.value.finished()

    # a failing answer for 豆瓣高分 arrives after the user moved on to 全部
    d.click_chip("primary", "豆瓣高分")
    d.wait_until(lambda: "豆瓣高分" in held, "the 豆瓣高分 request to be held")
    d.click_chip("primary", "all")
    d.wait_cards(lambda r: recommended("movie", "", "", r))
    with d.page.expect_response(lambda r: "category=" + quote("豆瓣高分") in r.url):
        held["豆瓣高分"].fulfill(status=502, content_type="application/json", body='{"error": "upstream"}')

    # the current selection still pages on (the stale failure did not stop it) ...
    before = len(d.titles())
    d.scroll_to_end()
    d.wait_cards(lambda r: recommended("movie", "", "", r), before + PAGE)
    # ... and nothing of the superseded selections was ever on screen
    shown = d.page.evaluate("() => window.__shown")
    assert any(t.startswith("冷门佳片") for t in shown) and any(t.startswith("推荐") for t in shown)
    assert not [t for t in shown if t.startswith(("最新", "豆瓣高分"))], shown
    assert d.page.locator("#douban-retry").count() == 0
    assert d.page.locator("#toasts .toast").count() == 0
    d.assert_no_duplicate_starts()
