"""What the web UI tests (and scripts/screenshots.py) run against: real HLS made by ffmpeg, a CORS "CDN",
fake Apple CMS sources whose items point at that CDN, the real app, and Debian's chromium.

Nothing here downloads anything: ffmpeg and chromium come from Debian, hls.js from npm
(scripts/build_frontend.sh).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from moontv.settings import Settings
from tests.fakes.fake_cms import FakeCms, make_item
from tests.support import CHROMIUM, LiveServer, settings_for, write_config

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "src" / "moontv" / "web" / "static" / "vendor"
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
HLS_SECONDS = 20


def missing_tools() -> list[str]:
    """What the browser tests need and this machine lacks (CI installs all of it: scripts/bootstrap.sh)."""
    missing = [name for name in ("ffmpeg",) if shutil.which(name) is None]
    if not Path(CHROMIUM).exists():
        missing.append("chromium")
    if not (VENDOR / "hls.min.js").exists():
        missing.append("hls.js (scripts/build_frontend.sh)")
    return missing


# -- media -------------------------------------------------------------------------------------------------


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def make_hls(folder: Path, seconds: int = HLS_SECONDS) -> Path:
    """A VOD HLS stream: 640x360@25 H.264 + AAC, 2 s segments (fixed GOP), testsrc2 picture with a clock."""
    folder.mkdir(parents=True, exist_ok=True)
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds),
        "-c:v", "libx264", "-profile:v", "main", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-b:v", "500k",
        "-c:a", "aac", "-b:a", "64k", "-ac", "2",
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(folder / "seg%03d.ts"), str(folder / "index.m3u8"),
    )  # fmt: skip
    return folder / "index.m3u8"


PALETTES = [
    ("0x1e3a8a", "0x7c3aed", "0x0ea5e9"),
    ("0x7f1d1d", "0xea580c", "0xfacc15"),
    ("0x064e3b", "0x059669", "0xa3e635"),
    ("0x312e81", "0xdb2777", "0xf472b6"),
    ("0x0c4a6e", "0x0891b2", "0x67e8f9"),
    ("0x3f1d0b", "0xb45309", "0xfde68a"),
    ("0x111827", "0x4b5563", "0x9ca3af"),
    ("0x4a044e", "0x9333ea", "0x22d3ee"),
]


def make_poster(path: Path, title: str, palette: int) -> Path:
    """A 300x450 JPEG poster: a colour gradient with the title written on it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    c0, c1, c2 = PALETTES[palette % len(PALETTES)]
    text = path.with_suffix(".txt")
    text.write_text(title[:8], encoding="utf-8")
    graph = f"gradients=s=300x450:c0={c0}:c1={c1}:c2={c2}:n=3:x0=0:y0=0:x1=300:y1=450:d=1:r=1:seed={palette}"
    draw = ""
    if CJK_FONT.exists():
        draw = (
            f"drawtext=fontfile={CJK_FONT}:textfile={text}:fontcolor=white:fontsize=36:"
            "x=(w-tw)/2:y=h*0.74:shadowcolor=black@0.45:shadowx=2:shadowy=2"
        )
    args = ["-f", "lavfi", "-i", graph, "-frames:v", "1"]
    if draw:
        args += ["-vf", draw]
    _ffmpeg(*args, "-q:v", "5", str(path))
    return path


# -- a small CDN -----------------------------------------------------------------------------------------


class _CdnHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the stdlib's own class attribute
        **SimpleHTTPRequestHandler.extensions_map,
        ".m3u8": "application/vnd.apple.mpegurl",
        ".ts": "video/mp2t",
        ".jpg": "image/jpeg",
    }

    def translate_path(self, path: str) -> str:
        # /v/<source>/<vod>/<ep>/x -> /hls/x: every episode has its own URL (ending in .m3u8, as sources'
        # do), all served by the one stream.
        parts = path.split("?", 1)[0].split("/")
        if len(parts) > 5 and parts[1] == "v":
            path = "/hls/" + "/".join(parts[5:])
        return super().translate_path(path)

    def end_headers(self) -> None:
        if getattr(self.server, "cors", True):
            self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Cdn:
    """A static file server on 127.0.0.1 (threaded, with ``Access-Control-Allow-Origin: *``)."""

    def __init__(self, root: Path, *, cors: bool = True) -> None:
        handler = functools.partial(_CdnHandler, directory=str(root))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.cors = cors  # type: ignore[attr-defined]
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def start(self) -> Cdn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the catalogue -------------------------------------------------------------------------------------------

HOSTILE_TITLE = '<img src=x id=pwned onload="window.__pwned=1">星夜<b>粗体</b>'
HOSTILE_DESC = '<p>简介</p><script>window.__pwned=2</script><a href="javascript:alert(1)">点我</a> &amp; 更多'


@dataclass
class Title:
    vod_id: int
    name: str
    year: str
    episodes: int
    type_name: str = "剧集"
    desc: str = ""
    poster: bool = True


CATALOGUE = [
    Title(1, "星际迷航：归途", "2024", 4, "科幻剧", "一艘迷失在星际深处的飞船，踏上回家的漫长旅途。"),
    Title(2, "深海回声", "2023", 1, "剧情片", "潜水员在深海中听到了来自过去的声音。"),
    Title(3, "星河旅人", "2022", 12, "动画", "少年驾驶旧货船穿越星河，寻找失散的家人。"),
    Title(4, "长安夜话", "2024", 8, "古装剧", "长安城的夜晚，一位说书人讲述着不为人知的故事。"),
    Title(5, "繁星之下", "2021", 1, "爱情片", "两个陌生人在夏夜的天文台相遇。"),
    Title(6, "星火燎原", "2020", 6, "纪录片", "记录一座小城三十年的变迁。"),
    Title(7, "流星街区", "2023", 10, "喜剧", "一条老街上发生的啼笑皆非的日常。"),
    Title(8, "星辰大海", "2019", 1, "剧情片", "", False),
]


@dataclass
class UiWorld:
    """Everything one UI test run needs; ``stop()`` ends what it started."""

    root: Path
    cdn: Cdn
    sources: dict[str, FakeCms]
    server: LiveServer
    stream_url: str
    extra: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()
        for fake in self.sources.values():
            fake.stop()
        self.cdn.stop()


def _items(cdn_url: str, titles: list[Title], source_index: int) -> list[dict[str, Any]]:
    items = []
    for title in titles:
        eps = [
            (f"第{n:02d}集", f"{cdn_url}/v/{source_index}/{title.vod_id}/{n}/index.m3u8")
            for n in range(1, title.episodes + 1)
        ]
        if title.episodes == 1:
            eps = [("正片", eps[0][1])]
        items.append(
            make_item(
                title.vod_id + 100 * source_index,
                title.name,
                year=title.year,
                type_name=title.type_name,
                groups=[("ffm3u8", eps)],
                pic=f"{cdn_url}/posters/{title.vod_id}.jpg" if title.poster else "",
                content=f"<p>{title.desc}</p>" if title.desc else "",
            )
        )
    return items


def media_dir(root: Path) -> Path:
    """HLS + posters under ``root`` (made once per folder)."""
    if not (root / "hls" / "index.m3u8").exists():
        make_hls(root / "hls")
    for index, title in enumerate(CATALOGUE):
        if title.poster and not (root / "posters" / f"{title.vod_id}.jpg").exists():
            make_poster(root / "posters" / f"{title.vod_id}.jpg", title.name, index)
    return root


def start_world(
    root: Path, *, media: Path | None = None, dead_streams: bool = False, **settings: Any
) -> UiWorld:
    """Media + CDN + three fake sources (two healthy with overlapping titles, one broken) + the app.

    With ``dead_streams`` a fourth source, "delta" (listed first), answers searches with the first titles
    of the catalogue but every playlist URL of it is a 404 on the CDN.
    """
    media = media_dir(media or root / "media")
    cdn = Cdn(media).start()
    sources: dict[str, FakeCms] = {}
    try:
        alpha = _items(cdn.url, CATALOGUE, 1)
        alpha.append(
            make_item(
                99,
                HOSTILE_TITLE,
                year="2024",
                type_name="剧集",
                groups=[("ffm3u8", [("第01集", f"{cdn.url}/v/1/99/1/index.m3u8")])],
                pic="javascript:alert(1)",
                content=HOSTILE_DESC,
            )
        )
        sources["alpha"] = FakeCms(alpha).start()
        sources["beta"] = FakeCms(
            _items(cdn.url, [CATALOGUE[0], CATALOGUE[1], CATALOGUE[2], CATALOGUE[6]], 2)
        ).start()
        sources["gamma"] = FakeCms(_items(cdn.url, CATALOGUE[:2], 3), fault="500").start()
        if dead_streams:
            dead = _items(f"{cdn.url}/gone", CATALOGUE[:2], 4)
            sources = {"delta": FakeCms(dead).start(), **sources}
        config = root / "config.json"
        root.mkdir(parents=True, exist_ok=True)
        write_config(config, {key: fake.base_url for key, fake in sources.items()})
        data = config.read_text(encoding="utf-8")
        names = (("alpha", "天狐影视"), ("beta", "蓝光资源"), ("gamma", "备用线路"), ("delta", "失效线路"))
        for key, name in names:
            data = data.replace(f'"源{key}"', f'"{name}"')
        config.write_text(data, encoding="utf-8")
        overrides: dict[str, Any] = {"upstream_timeout": 5.0, **settings}
        if "allow_private_upstreams" in Settings.model_fields and "allow_private_upstreams" not in overrides:
            overrides["allow_private_upstreams"] = "127.0.0.1"  # the stream proxy may fetch the local CDN
        server = LiveServer(settings_for(root, **overrides)).start()
    except BaseException:
        for fake in sources.values():
            fake.stop()
        cdn.stop()
        raise
    return UiWorld(root, cdn, sources, server, f"{cdn.url}/hls/index.m3u8")


@contextmanager
def world(root: Path, **settings: Any) -> Iterator[UiWorld]:
    w = start_world(root, **settings)
    try:
        yield w
    finally:
        w.stop()


def seed_user_data(w: UiWorld, username: str = "admin", password: str = "test") -> None:
    """Play records, favorites and search history, as if the user had been watching for a while."""
    import time

    now = int(time.time() * 1000)
    client = w.server.login(username, password)
    try:
        records = [
            ("alpha+101", CATALOGUE[0], 2, 6, 20),
            ("alpha+103", CATALOGUE[2], 5, 12, 20),
            ("beta+207", CATALOGUE[6], 3, 17, 20),
            ("alpha+102", CATALOGUE[1], 1, 4, 20),
        ]
        for offset, (key, title, index, played, total) in enumerate(records):
            record = {
                "title": title.name,
                "source_name": "天狐影视" if key.startswith("alpha") else "蓝光资源",
                "year": title.year,
                "cover": f"{w.cdn.url}/posters/{title.vod_id}.jpg",
                "index": index,
                "total_episodes": title.episodes,
                "play_time": played,
                "total_time": total,
                "save_time": now - offset * 60000,
                "search_title": "",
            }
            response = client.post("/api/playrecords", json={"key": key, "record": record})
            assert response.status_code == 200, response.text
        for offset, key, title in (
            (0, "alpha+104", CATALOGUE[3]),
            (1, "alpha+101", CATALOGUE[0]),
            (2, "alpha+105", CATALOGUE[4]),
            (3, "alpha+108", CATALOGUE[7]),
        ):
            favorite = {
                "title": title.name,
                "source_name": "天狐影视",
                "year": title.year,
                "cover": f"{w.cdn.url}/posters/{title.vod_id}.jpg" if title.poster else "",
                "total_episodes": title.episodes,
                "save_time": now - offset * 60000,
                "search_title": "",
            }
            response = client.post("/api/favorites", json={"key": key, "favorite": favorite})
            assert response.status_code == 200, response.text
        for keyword in ("深海", "长安夜话", "流星", "星际迷航"):
            client.post("/api/searchhistory", json={"keyword": keyword})
    finally:
        client.close()
