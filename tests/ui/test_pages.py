"""The web UI over plain HTTP: access rules, headers, escaping, 404s, PWA files, locales."""

from __future__ import annotations

import json
import re
from contextlib import closing
from html.parser import HTMLParser

import httpx

from moontv.web.i18n import LANGS, catalog
from moontv.web.rendering import CSP

HTML = {"Accept": "text/html,application/xhtml+xml"}
PAGES = [
    "/",
    "/?tab=history",
    "/?tab=favorites",
    "/search",
    "/search?q=%E6%B5%81%E6%B5%AA",
    "/play?source=s&id=1&title=t",
]
HOSTILE = "<img src=x onerror=alert(1)>\"&'</script><script>alert(2)</script>"


class _Scan(HTMLParser):
    """Collects what the CSP forbids: inline scripts, inline handlers and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[str] = []
        self.inline_handlers: list[str] = []
        self.style_attrs: list[str] = []
        self.boot: str | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on"):
                self.inline_handlers.append(f"{tag}[{name}]")
            if name == "style":
                self.style_attrs.append(tag)
        if tag == "script" and "src" not in a:
            self._in = "boot" if a.get("type") == "application/json" else "inline"
        if tag == "style":
            self.style_attrs.append("<style>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "inline" and data.strip():
            self.inline_scripts.append(data)
        elif self._in == "boot":
            self.boot = (self.boot or "") + data


def scan(text: str) -> _Scan:
    parser = _Scan()
    parser.feed(text)
    return parser


def test_pages_need_a_session_and_come_back_after_login(live_app) -> None:
    server = live_app()
    with server.client() as client:
        for path in PAGES:
            response = client.get(path, headers=HTML)
            assert response.status_code == 303, path
            location = response.headers["location"]
            assert location.startswith("/login?redirect=")
            assert httpx.URL(location).params["redirect"] == path
        login = client.get("/login")
        assert login.status_code == 200 and 'id="login-form"' in login.text
        assert 'id="register"' not in login.text  # registration is closed by default
        assert 'class="topbar"' not in login.text  # no navigation before signing in


def test_every_page_renders_with_a_strict_csp_and_no_inline_code(live_app) -> None:
    server = live_app()
    with closing(server.login()) as client:
        for path in [*PAGES, "/login", "/no/such/page"]:
            response = client.get(path, headers=HTML)
            assert response.status_code in (200, 404), path
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["content-security-policy"] == CSP
            assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "same-origin"
            assert response.headers["x-frame-options"] == "DENY"
            found = scan(response.text)
            assert found.inline_scripts == [] and found.inline_handlers == [] and found.style_attrs == [], (
                path
            )
            assert found.boot is not None and json.loads(found.boot)["lang"] == "zh-CN"
            # template slips: a dict method instead of a message, a missing variable
            assert "built-in method" not in response.text and "{{" not in response.text, path
        nav = client.get("/", headers=HTML).text
        for href in (
            "/douban?type=movie",
            "/douban?type=tv",
            "/douban?type=anime",
            "/douban?type=show",
            "/admin",
        ):
            assert f'href="{href}"' in nav
        assert 'rel="manifest" href="/manifest.json"' in nav


def test_admin_link_only_for_admins(live_app) -> None:
    server = live_app(None, enable_register=True)
    with server.client() as client:
        assert 'id="register"' in client.get("/login").text  # registration is open
        assert (
            client.post("/api/register", json={"username": "viewer", "password": "pw123456"}).status_code
            == 200
        )
        page = client.get("/", headers=HTML).text
        assert 'href="/admin"' not in page
        assert 'id="password-dialog"' in page  # users may change their password; the owner may not
    with closing(server.login()) as owner:
        assert 'id="password-dialog"' not in owner.get("/", headers=HTML).text


def test_no_password_locks_every_page_behind_the_warning(live_app) -> None:
    server = live_app(None, password="")
    with server.client() as client:
        for path in ["/", "/search", "/play?title=x", "/login"]:
            response = client.get(path, headers=HTML)
            assert response.status_code == 307 and response.headers["location"] == "/warning", path
        warning = client.get("/warning", headers=HTML)
        assert warning.status_code == 200 and "PASSWORD" in warning.text
        assert warning.headers["content-security-policy"] == CSP
    locked = live_app(None)
    with locked.client() as client:
        assert client.get("/warning").headers["location"] == "/"  # nothing to warn about


def test_unknown_paths_404_html_for_pages_json_for_apis(live_app) -> None:
    server = live_app()
    with server.client() as client:
        page = client.get("/no/such/page", headers=HTML)
        assert page.status_code == 404 and "404" in page.text and 'href="/"' in page.text
        assert page.headers["content-type"].startswith("text/html")
        assert client.get("/no/such/page").json() == {"error": "Not Found"}  # a non-browser client
        api = client.get("/api/no/such/route", headers=HTML)
        assert api.status_code == 404 and api.json() == {"error": "Not Found"}
        assert client.get("/static/nothing.js", headers=HTML).json() == {"error": "Not Found"}


def test_upstream_strings_are_escaped_in_server_rendered_pages(live_app) -> None:
    server = live_app()
    with closing(server.login()) as client:
        record = {
            "title": HOSTILE,
            "source_name": "<b>src</b>",
            "year": "2024",
            "cover": "javascript:alert(3)",
            "index": 1,
            "total_episodes": 3,
            "play_time": 30,
            "total_time": 60,
        }
        assert client.post("/api/playrecords", json={"key": "s+1", "record": record}).status_code == 200
        favorite = {"title": HOSTILE, "source_name": "x", "cover": "https://img.example/a.jpg"}
        assert client.post("/api/favorites", json={"key": "s+2", "favorite": favorite}).status_code == 200
        home = client.get("/", headers=HTML).text
        assert "<img src=x" not in home and "<script>alert(2)" not in home and "<b>src</b>" not in home
        assert "&lt;img src=x onerror=alert(1)&gt;" in home
        assert "javascript:" not in home  # an unsafe cover is dropped, not linked
        assert 'src="https://img.example/a.jpg"' in home
        found = scan(home)
        assert found.inline_scripts == [] and found.inline_handlers == []
        # the boot JSON cannot be broken out of, and carries the exact text
        play = client.get("/play", params={"source": "s", "id": "1", "title": HOSTILE}, headers=HTML).text
        assert "</script><script>alert(2)" not in play
        boot = json.loads(scan(play).boot or "{}")
        assert boot["page"]["params"]["title"] == HOSTILE
        assert boot["page"]["record"]["title"] == HOSTILE


def test_play_page_boot_carries_saved_state(live_app) -> None:
    server = live_app()
    with closing(server.login()) as client:
        record = {
            "title": "T",
            "source_name": "S",
            "index": 2,
            "total_episodes": 4,
            "play_time": 61,
            "total_time": 99,
        }
        client.post("/api/playrecords", json={"key": "src+9", "record": record})
        client.post("/api/skipconfigs", json={"key": "src+9", "config": {"enable": True, "intro_time": 5}})
        client.post("/api/favorites", json={"key": "src+9", "favorite": {"title": "T", "source_name": "S"}})
        html = client.get("/play?source=src&id=9&title=T&stitle=t", headers=HTML).text
        boot = json.loads(scan(html).boot or "{}")["page"]
        assert boot["params"] == {
            "source": "src",
            "id": "9",
            "title": "T",
            "year": "",
            "stitle": "t",
            "stype": "",
        }
        assert boot["record"]["play_time"] == 61 and boot["record"]["index"] == 2
        assert boot["skip"] == {"enable": True, "intro_time": 5, "outro_time": 0}
        assert boot["favorite"] is True
        assert re.search(r'<video id="player"', html)
        assert re.search(r'src="/static/vendor/hls\.min\.js\?v=\w+"', html)
        entry = re.search(r'<script type="module" src="(/static/play/main\.js\?v=\w+)"', html)
        assert entry, "the player is loaded as an ES module"
        # the entry is named by its content hash; the modules it imports by plain URLs are revalidated
        assert "no-cache" not in client.get(entry.group(1)).headers.get("cache-control", "")
        imported = client.get("/static/play/core.js")
        assert imported.status_code == 200 and imported.headers["cache-control"] == "no-cache"


def test_search_page_lists_history_and_sources(live_app, fake_cms) -> None:
    server = live_app({"one": fake_cms.base_url})
    with closing(server.login()) as client:
        for keyword in ("alpha", "<b>beta</b>"):
            client.post("/api/searchhistory", json={"keyword": keyword})
        html = client.get("/search", headers=HTML).text
        assert 'href="/search?q=alpha"' in html and "&lt;b&gt;beta&lt;/b&gt;" in html
        boot = json.loads(scan(html).boot or "{}")["page"]
        assert boot["history"] == ["<b>beta</b>", "alpha"]
        assert boot["sources"] == [{"key": "one", "name": "源one"}]


def test_english_locale_by_cookie(live_app) -> None:
    server = live_app()
    with closing(server.login()) as client:
        client.cookies.set("lang", "en")
        html = client.get("/", headers=HTML).text
        assert '<html lang="en"' in html and ">Continue watching<" not in html  # no records yet
        assert ">Search<" in html and ">首页<" not in html
        assert json.loads(scan(html).boot or "{}")["i18n"]["nav_home"] == "Home"
        client.cookies.set("lang", "xx")  # unknown: the default
        assert '<html lang="zh-CN"' in client.get("/", headers=HTML).text
        client.cookies.set("theme", "dark")
        assert 'data-theme="dark"' in client.get("/", headers=HTML).text


def test_catalogues_have_the_same_keys_and_no_dict_method_names() -> None:
    assert LANGS == ("zh-CN", "en")
    assert set(catalog("zh-CN")) == set(catalog("en"))
    assert len(catalog("en")) > 100 and all(value.strip() for value in catalog("en").values())
    assert not set(catalog("en")) & set(dir(dict))  # `t.clear` in a template would render dict.clear


def test_manifest_service_worker_and_icons(live_app) -> None:
    server = live_app()
    with server.client() as client:  # public: browsers fetch these without cookies
        manifest = client.get("/manifest.json")
        assert manifest.status_code == 200
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        data = manifest.json()
        assert data["name"] == "MoonTV" and data["display"] == "standalone" and data["start_url"] == "/"
        sizes = {icon["sizes"] for icon in data["icons"]}
        assert {"192x192", "512x512"} <= sizes
        assert any(icon.get("purpose") == "maskable" for icon in data["icons"])
        for icon in data["icons"]:
            response = client.get(icon["src"])
            assert response.status_code == 200 and response.headers["content-type"] == icon["type"]
            if icon["type"] == "image/png":
                width, height = icon["sizes"].split("x")
                assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
                assert int.from_bytes(response.content[16:20], "big") == int(width)
                assert int.from_bytes(response.content[20:24], "big") == int(height)
        worker = client.get("/sw.js")
        assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
        assert (
            worker.headers["service-worker-allowed"] == "/" and worker.headers["cache-control"] == "no-cache"
        )
        shell = json.loads(re.search(r"const SHELL_ASSETS = (\[.*?\]);", worker.text).group(1))  # type: ignore[union-attr]
        assert "/offline" in shell and any(p.startswith("/static/app.js?v=") for p in shell)
        for path in shell:
            assert client.get(path).status_code == 200, path
        assert '"/api/' not in worker.text.split("SHELL_ASSETS", 1)[1].split(";", 1)[0]
        assert client.get("/robots.txt").text == "User-agent: *\nDisallow: /\n"
        assert client.get("/favicon.ico").headers["content-type"] == "image/png"


def test_server_side_poster_rewrites() -> None:
    from moontv.web.pages.cards import image_url, play_url

    douban = "https://img9.doubanio.com/view/p1.jpg"
    assert image_url(douban, {}) == "/api/image-proxy?url=https%3A%2F%2Fimg9.doubanio.com%2Fview%2Fp1.jpg"
    assert image_url(douban, {"type": "img3"}) == "https://img3.doubanio.com/view/p1.jpg"
    assert image_url(douban, {"type": "direct"}) == douban
    assert image_url(douban, {"type": "custom", "url": "https://p.example/?u="}).startswith(
        "https://p.example/?u=https%3A"
    )
    assert image_url("https://cdn.example/a.jpg", {}) == "https://cdn.example/a.jpg"
    for bad in ("javascript:alert(1)", "data:image/png;base64,AAAA", "//evil.example/x.jpg", ""):
        assert image_url(bad, {}) == ""
    assert (
        play_url("s", "1", "A B&C", "unknown", "a", "tv")
        == "/play?source=s&id=1&title=A%20B%26C&stitle=a&stype=tv"
    )
