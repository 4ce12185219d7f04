"""A hostile upstream: canned playlists plus a body that never ends (ignores Range, claims 4 GB)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

ENDLESS_LENGTH = 4 * 1024**3
CHUNK = b"\0" * (256 * 1024)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        with owner.lock:
            owner.requests.append(path)
        if path.startswith("/endless"):
            owner.endless_started.set()
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(ENDLESS_LENGTH))
            self.end_headers()
            sent = 0
            try:
                while sent < ENDLESS_LENGTH and not owner.closing.is_set():
                    self.wfile.write(CHUNK)
                    sent += len(CHUNK)
                    with owner.lock:
                        owner.endless_bytes += len(CHUNK)
            except OSError:
                pass
            return
        body = owner.files.get(path)
        if body is None and path.startswith("/seg/"):
            body = b"\0" * 4096  # a media segment the prober can read (no timestamps in it)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.apple.mpegurl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: Hostile) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class Hostile:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.endless_bytes = 0
        self.endless_started = threading.Event()
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self._server = _Server(self)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    def __enter__(self) -> Hostile:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()


class SlowCms:
    """Apple CMS search answers for ``sources`` sources at ``/cms/<n>/api.php/provide/vod``: every
    query matches, ``pagecount`` pages of ``per_page`` long series (``episodes`` each), each answer
    after ``delay`` seconds. Counts requests in flight per source and in total."""

    def __init__(
        self,
        sources: int,
        *,
        pagecount: int = 50,
        per_page: int = 20,
        episodes: int = 40,
        delay: float = 0.0,
        episode_url: str = "",
    ) -> None:
        self.episode_url = episode_url
        self.sources = sources
        self.pagecount = pagecount
        self.per_page = per_page
        self.episodes = episodes
        self.delay = delay
        self.requests = 0
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.total_in_flight = 0
        self.max_total_in_flight = 0
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _cms_handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    def sites(self) -> dict[str, str]:
        return {f"s{n}": f"{self.url}/cms/{n}/api.php/provide/vod" for n in range(self.sources)}

    def body(self, query: str, page: int) -> bytes:
        import json

        items = []
        for n in range(self.per_page):
            vod_id = page * 1000 + n
            play = "#".join(
                f"第{e:03d}集$"
                + (self.episode_url or f"https://cdn.example.com/{query}/{vod_id}/{e:04d}/index.m3u8")
                for e in range(self.episodes)
            )
            items.append(
                {
                    "vod_id": vod_id,
                    "vod_name": f"{query} 第{vod_id}部",
                    "type_name": "国产剧",
                    "vod_pic": f"https://img.example.com/{vod_id}.jpg",
                    "vod_year": "2024",
                    "vod_remarks": f"更新至{self.episodes}集",
                    "vod_play_from": "ffm3u8",
                    "vod_play_url": play,
                    "vod_content": "<p>" + "剧情简介。" * 40 + "</p>",
                }
            )
        envelope = {
            "code": 1,
            "msg": "数据列表",
            "page": page,
            "pagecount": self.pagecount,
            "limit": str(self.per_page),
            "total": self.pagecount * self.per_page,
            "list": items,
        }
        return json.dumps(envelope, ensure_ascii=False).encode()

    def __enter__(self) -> SlowCms:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _cms_handler(owner: SlowCms) -> type[BaseHTTPRequestHandler]:
    import time
    from urllib.parse import parse_qs

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            source = parts.path.split("/")[2] if parts.path.startswith("/cms/") else "?"
            query = parse_qs(parts.query)
            with owner.lock:
                owner.requests += 1
                owner.in_flight[source] = owner.in_flight.get(source, 0) + 1
                owner.max_in_flight[source] = max(owner.max_in_flight.get(source, 0), owner.in_flight[source])
                owner.total_in_flight += 1
                owner.max_total_in_flight = max(owner.max_total_in_flight, owner.total_in_flight)
            try:
                if owner.delay:
                    time.sleep(owner.delay)
                page = int((query.get("pg") or ["1"])[0])
                body = owner.body((query.get("wd") or query.get("ids") or [""])[0], page)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass
            finally:
                with owner.lock:
                    owner.in_flight[source] -= 1
                    owner.total_in_flight -= 1

    return Handler
