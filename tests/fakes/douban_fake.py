"""Local fakes of Douban (movie.douban.com, m.douban.com) and Bangumi (api.bgm.tv) on 127.0.0.1.

Answers have the shapes of the real endpoints (fields the app reads plus the usual neighbours):

- ``/j/search_subjects?type&tag&sort&page_limit&page_start`` -> ``{"subjects": [...]}``
- ``/top250?start=&filter=`` -> the Top 250 HTML page (``div.item`` blocks)
- ``/rexxar/api/v2/subject/recent_hot/{movie|tv}?start&limit&category&type`` -> ``{"items": [...], ...}``
- ``/rexxar/api/v2/{movie|tv}/recommend?...`` -> ``{"items": [...]}`` (with a non-subject ``ad`` item)
- ``/calendar`` -> Bangumi's weekly calendar
- ``/proxy?url=<encoded>`` -> fetches nothing: answers as if ``url`` had been requested (a "custom proxy")

Every request is recorded (path, query, headers). ``fault = "500"`` makes every answer an HTTP 500,
``fault = "html"`` an HTML challenge page; ``delay`` slows every answer down. ``total`` is the length of
every list; with ``titles_name_selection`` recent-hot and recommend titles end in ``·<type>`` and
``·<tags>/<sort>``, so a page showing them tells which selection it asked for.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOTAL_SUBJECTS = 60


def subject(n: int, tag: str) -> dict[str, Any]:
    return {
        "episodes_info": "",
        "rate": f"{7 + (n % 30) / 10:.1f}",
        "cover_x": 1080,
        "title": f"{tag}影片{n}",
        "url": f"https://movie.douban.com/subject/{3000000 + n}/",
        "playable": n % 2 == 0,
        "cover": f"https://img{1 + n % 9}.doubanio.com/view/photo/s_ratio_poster/public/p{2000000 + n}.webp",
        "id": str(3000000 + n),
        "cover_y": 1600,
        "is_new": False,
    }


def hot_item(n: int, kind: str, category: str) -> dict[str, Any]:
    return {
        "rating": {"count": 1000 + n, "max": 10, "star_count": 4.0, "value": 8 + (n % 10) / 10},
        "title": f"{category}{kind}{n}",
        "pic": {
            "large": f"https://img2.doubanio.com/view/photo/m_ratio_poster/public/p{5000 + n}.jpg",
            "normal": f"https://img2.doubanio.com/view/photo/s_ratio_poster/public/p{5000 + n}.jpg",
        },
        "is_new": n == 0,
        "uri": f"douban://douban.com/{kind}/{4000000 + n}",
        "episodes_info": "更新至10集" if kind == "tv" else "",
        "card_subtitle": f"{2020 + n % 5} / 中国大陆 / 剧情 悬疑 / 导演 / 演员",
        "type": kind,
        "id": str(4000000 + n),
    }


def recommend_item(n: int, kind: str) -> dict[str, Any]:
    return {
        "rating": {"count": 500, "max": 10, "value": 0 if n == 1 else 7.5},
        "title": f"推荐{kind}{n}",
        "pic": {"normal": f"https://img3.doubanio.com/view/photo/s_ratio_poster/public/p{7000 + n}.jpg"},
        "type": kind,
        "id": str(6000000 + n),
        "year": str(2010 + n),
        "card_subtitle": "",
    }


def top250_html(start: int) -> str:
    blocks = []
    for n in range(start, min(start + 25, 250)):
        poster = f"http://img{1 + n % 3}.doubanio.com/view/photo/s_ratio_poster/public/p{480000 + n}.jpg"
        blocks.append(
            f"""<li><div class="item">
  <div class="pic"><em class="">{n + 1}</em>
    <a href="https://movie.douban.com/subject/{1290000 + n}/">
      <img width="100" alt="经典&amp;电影{n}" src="{poster}" class="">
    </a></div>
  <div class="info"><div class="hd"><a href="https://movie.douban.com/subject/{1290000 + n}/" class="">
    <span class="title">经典电影{n}</span></a></div>
    <div class="bd"><div class="star"><span class="rating5-t"></span>
      <span class="rating_num" property="v:average">{9 - (n % 10) / 10:.1f}</span></div></div></div>
</div></li>"""
        )
    head = "<!DOCTYPE html><html><head><title>豆瓣电影 Top 250</title></head><body>"
    return f'{head}<ol class="grid_view">{"".join(blocks)}</ol></body></html>'


def calendar() -> list[dict[str, Any]]:
    names = [("Mon", "星期一", "月耀日"), ("Tue", "星期二", "火耀日"), ("Wed", "星期三", "水耀日"),
             ("Thu", "星期四", "木耀日"), ("Fri", "星期五", "金耀日"), ("Sat", "星期六", "土耀日"),
             ("Sun", "星期日", "日耀日")]  # fmt: skip
    days = []
    for i, (en, cn, ja) in enumerate(names, start=1):
        items = []
        for j in range(3):
            sid = i * 100 + j
            items.append(
                {
                    "id": sid,
                    "url": f"http://bgm.tv/subject/{sid}",
                    "type": 2,
                    "name": f"Anime {sid}",
                    "name_cn": f"番剧{sid}" if j != 1 else "",
                    "summary": "",
                    "air_date": f"202{j}-0{i}-01",
                    "air_weekday": i,
                    "rating": {"total": 10, "count": {}, "score": 7.2 + j / 10},
                    "rank": 100 + j,
                    "images": None
                    if j == 2
                    else {
                        "large": f"http://lain.bgm.tv/pic/cover/l/{sid}.jpg",
                        "common": f"http://lain.bgm.tv/pic/cover/c/{sid}.jpg",
                        "medium": f"http://lain.bgm.tv/pic/cover/m/{sid}.jpg",
                        "small": f"http://lain.bgm.tv/pic/cover/s/{sid}.jpg",
                        "grid": f"http://lain.bgm.tv/pic/cover/g/{sid}.jpg",
                    },
                    "collection": {"doing": 12},
                }
            )
        days.append({"weekday": {"en": en, "cn": cn, "ja": ja, "id": i}, "items": items})
    return days


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.server.fake
        fake.record(self.path, dict(self.headers.items()))
        if fake.delay:
            time.sleep(fake.delay)
        if fake.fault == "500":
            return self._send(500, b"server error", "text/plain")
        if fake.fault == "html":
            return self._send(200, b"<html><body>sec.douban.com challenge</body></html>", "text/html")
        status, body, ctype = fake.answer(self.path)
        self._send(status, body, ctype)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeDouban) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class FakeDouban:
    def __init__(self) -> None:
        self.fault: str | None = None
        self.delay = 0.0
        self.total = TOTAL_SUBJECTS
        self.titles_name_selection = False
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeDouban:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def record(self, path: str, headers: dict[str, str]) -> None:
        parts = urlsplit(path)
        with self._lock:
            self._requests.append(
                {
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "headers": headers,
                }
            )

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def answer(self, raw_path: str) -> tuple[int, bytes, str]:
        parts = urlsplit(raw_path)
        path = parts.path
        q = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path == "/proxy" and "url" in q:
            inner = urlsplit(unquote(q["url"]))
            return self.answer(inner.path + (f"?{inner.query}" if inner.query else ""))
        if path == "/j/search_subjects":
            start, limit = int(q.get("page_start", 0)), int(q.get("page_limit", 20))
            numbers = range(start, min(start + limit, self.total))
            return _json({"subjects": [subject(n, q.get("tag", "")) for n in numbers]})
        if path == "/top250":
            return 200, top250_html(int(q.get("start", 0))).encode(), "text/html; charset=utf-8"
        if path.startswith("/rexxar/api/v2/subject/recent_hot/"):
            kind = path.rsplit("/", 1)[1]
            start, limit = int(q.get("start", 0)), int(q.get("limit", 20))
            numbers = range(start, min(start + limit, self.total))
            items = [hot_item(n, kind, q.get("category", "")) for n in numbers]
            self._name_selection(items, q.get("type", ""))
            return _json({"category": q.get("category"), "items": items, "total": self.total, "start": start})
        if path.endswith("/recommend") and path.startswith("/rexxar/api/v2/"):
            kind = path.split("/")[4]
            start, count = int(q.get("start", 0)), int(q.get("count", 20))
            numbers = range(start, min(start + count, self.total))
            items: list[dict[str, Any]] = [recommend_item(n, kind) for n in numbers]
            self._name_selection(items, f"{q.get('tags', '')}/{q.get('sort', '')}")
            if items:
                items.insert(1, {"type": "ad", "id": "ad1", "title": "广告"})
            return _json({"items": items, "total": self.total, "start": start, "count": count})
        if path == "/calendar":
            return _json(calendar())
        return 404, b'{"msg":"not found"}', "application/json"

    def _name_selection(self, items: list[dict[str, Any]], selection: str) -> None:
        if self.titles_name_selection:
            for item in items:
                item["title"] = f"{item['title']}·{selection}"


def _json(data: Any) -> tuple[int, bytes, str]:
    return 200, json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8"
