"""A local danmu_api-compatible server (dandanplay-style API) on 127.0.0.1, from the documented shapes:

- ``GET /api/v2/search/episodes?anime=<keyword>`` -> ``{"errorCode", "success", "hasMore", "animes": [{
  "animeId", "animeTitle", "type", "typeDescription", "episodes": [{"episodeId", "episodeTitle"}]}]}``
- ``POST /api/v2/match {"fileName": "<title> S<season>E<episode> @<platform>"}`` -> ``{"errorCode", "success",
  "isMatched", "matches": [{"episodeId", "animeId", "animeTitle", "episodeTitle", "type", ...}]}``
- ``GET /api/v2/comment/<episodeId>?format=xml`` -> ``<i><d p="time,mode,size,color,…">text</d></i>``;
  ``format=json`` -> ``{"count", "comments": [{"cid", "p": "time,mode,color,uid", "m"}]}``

The catalogue: anime 1 "星际迷航" (season 1, 12 episodes, ids 1001…), anime 2 "星际迷航 第二季" (season 2, ids
2001…), anime 3 "星际迷航 特别篇" (season 0, id 3001). Episode ``n`` of any anime has ``comments_per_episode``
comments (``dense_episode`` has ``dense_count``), comment ``k`` at ``k * duration / count`` seconds with text
``"<episodeId>#<k>"``. Every request is recorded; ``fault`` ("500", "garbage", "huge", "slow") breaks answers,
``fail_matches`` makes the next N match calls answer "not matched".
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ANIMES: list[dict[str, Any]] = [
    {"animeId": 1, "title": "星际迷航", "season": 1, "episodes": 12, "base": 1000},
    {"animeId": 2, "title": "星际迷航 第二季", "season": 2, "episodes": 12, "base": 2000},
    {"animeId": 3, "title": "星际迷航 特别篇", "season": 0, "episodes": 1, "base": 3000},
]
_FILE_NAME = re.compile(r"^(?P<title>.*?)\s+S(?P<season>\d+)E(?P<episode>\d+)(?:\s+@(?P<platform>\S+))?$")


def anime_json(anime: dict[str, Any]) -> dict[str, Any]:
    return {
        "animeId": anime["animeId"],
        "animeTitle": anime["title"],
        "type": "tvseries",
        "typeDescription": "TV动画",
        "episodes": [
            {"episodeId": anime["base"] + n, "episodeTitle": f"第{n}集"}
            for n in range(1, anime["episodes"] + 1)
        ],
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer("POST", self.rfile.read(min(length, 65536)))

    def _answer(self, method: str, body: bytes) -> None:
        fake = self.server.fake
        fake.record(method, self.path, body)
        if fake.fault == "slow":
            time.sleep(5)
        if fake.fault == "500":
            return self._send(500, b"boom", "text/plain")
        if fake.fault == "garbage":
            return self._send(200, b"\x00\x01 not danmaku", "application/octet-stream")
        status, payload, ctype = fake.answer(method, self.path, body)
        self._send(status, payload, ctype)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeDanmuApi) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class FakeDanmuApi:
    def __init__(
        self,
        *,
        comments_per_episode: int = 40,
        duration: float = 20.0,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        self.animes = ANIMES + (extra or [])
        self.comments_per_episode = comments_per_episode
        self.duration = duration
        self.dense_episode = 0
        self.dense_count = 3000
        self.fault: str | None = None
        self.fail_matches = 0
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeDanmuApi:
        self._server = _Server(self)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def record(self, method: str, path: str, body: bytes) -> None:
        parts = urlsplit(path)
        with self._lock:
            self._requests.append(
                {
                    "method": method,
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "body": body.decode("utf-8", "replace"),
                }
            )

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def comment_rows(self, episode_id: int) -> list[tuple[float, int, int, str]]:
        count = self.dense_count if episode_id == self.dense_episode else self.comments_per_episode
        modes = (1, 1, 1, 1, 1, 1, 4, 5)
        return [
            (round(k * self.duration / count, 3), modes[k % len(modes)], 0xFFFFFF - k, f"{episode_id}#{k}")
            for k in range(count)
        ]

    def answer(self, method: str, raw_path: str, body: bytes) -> tuple[int, bytes, str]:
        parts = urlsplit(raw_path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if method == "GET" and path == "/api/v2/search/episodes":
            keyword = q.get("anime", "").strip()
            found = [anime_json(a) for a in self.animes if keyword and keyword in a["title"]]
            return _json(
                {"errorCode": 0, "success": True, "errorMessage": "", "hasMore": False, "animes": found}
            )
        if method == "POST" and path == "/api/v2/match":
            return _json(self._match(body))
        if method == "GET" and path.startswith("/api/v2/comment/"):
            tail = path.rsplit("/", 1)[1]
            if not tail.isdigit():
                return 404, b'{"errorCode":404}', "application/json"
            episode_id = int(tail)
            if self.fault == "huge":
                return 200, b"<i>" + b'<d p="1,1,25,16777215">x</d>' * 600_000 + b"</i>", "application/xml"
            rows = self.comment_rows(episode_id)
            if q.get("format") == "json":
                comments = [
                    {"cid": k, "p": f"{t},{mode},{color},u{k}", "m": text}
                    for k, (t, mode, color, text) in enumerate(rows)
                ]
                return _json({"count": len(comments), "comments": comments})
            xml = "".join(
                f'<d p="{t},{mode},25,{color},1700000000,0,u{k},{k}">{_escape(text)}</d>'
                for k, (t, mode, color, text) in enumerate(rows)
            )
            return 200, f'<?xml version="1.0" encoding="UTF-8"?><i>{xml}</i>'.encode(), "application/xml"
        return 404, b'{"errorCode":404}', "application/json"

    def _match(self, body: bytes) -> dict[str, Any]:
        nothing = {"errorCode": 0, "success": True, "isMatched": False, "matches": []}
        if self.fail_matches > 0:
            self.fail_matches -= 1
            return nothing
        try:
            file_name = str(json.loads(body or b"{}").get("fileName", ""))
        except ValueError:
            return {"errorCode": 400, "success": False, "errorMessage": "bad body"}
        m = _FILE_NAME.match(file_name.strip())
        if not m:
            return nothing
        season, episode = int(m["season"]), int(m["episode"])
        for anime in self.animes:
            base_title = anime["title"].split(" ")[0]
            if base_title == m["title"] and anime["season"] == season and 1 <= episode <= anime["episodes"]:
                return {
                    "errorCode": 0,
                    "success": True,
                    "isMatched": True,
                    "matches": [
                        {
                            "episodeId": anime["base"] + episode,
                            "animeId": anime["animeId"],
                            "animeTitle": anime["title"],
                            "episodeTitle": f"第{episode}集",
                            "type": "tvseries",
                            "typeDescription": "TV动画",
                        }
                    ],
                }
        return nothing


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json(data: Any) -> tuple[int, bytes, str]:
    return 200, json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8"
