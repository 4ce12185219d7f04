"""A small real HTTP upstream on 127.0.0.1 for the stream tests: static files with Range support,
optional CORS, redirects, canned answers, and a log of every request it saw."""

from __future__ import annotations

import mimetypes
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".key": "application/octet-stream",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}


@dataclass
class Canned:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: avoid Nagle + delayed-ACK stalls (~40 ms each)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self.server.owner._handle(self, head=False)

    def do_HEAD(self) -> None:
        self.server.owner._handle(self, head=True)

    def do_OPTIONS(self) -> None:
        self.server.owner._record(self)
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Headers", "Range")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _cors(self) -> None:
        if self.server.owner.cors:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Expose-Headers", "Content-Length, Content-Range")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: Upstream) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients that hang up mid-body are normal here


class Upstream:
    def __init__(self, root: Path | None = None, *, cors: bool = True) -> None:
        self.root = root
        self.cors = cors
        self.canned: dict[str, Canned] = {}
        self.redirects: dict[str, str] = {}
        self.delays: dict[str, float] = {}
        self.throttle: float = 0.0  # seconds per 64 KiB written
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(self)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    def start(self) -> Upstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def paths(self) -> list[str]:
        with self._lock:
            return [r["path"] for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def _record(self, handler: _Handler) -> None:
        with self._lock:
            self.requests.append(
                {
                    "method": handler.command,
                    "path": handler.path,
                    "headers": {k.lower(): v for k, v in handler.headers.items()},
                }
            )

    def _handle(self, handler: _Handler, *, head: bool) -> None:
        self._record(handler)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._answer(handler, head=head)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, handler: _Handler, *, head: bool) -> None:
        path = urlsplit(handler.path).path
        delay = self.delays.get(path)
        if delay:
            time.sleep(delay)
        if path in self.redirects:
            handler.send_response(302)
            handler.send_header("Location", self.redirects[path])
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if path in self.canned:
            canned = self.canned[path]
            handler.send_response(canned.status)
            handler._cors()
            for key, value in canned.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(canned.body)))
            handler.end_headers()
            if not head:
                handler.wfile.write(canned.body)
            return
        file = self._file(path)
        if file is None:
            handler.send_response(404)
            handler._cors()
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        data = file.read_bytes()
        ctype = TYPES.get(file.suffix, mimetypes.guess_type(file.name)[0] or "application/octet-stream")
        start, end, status = 0, len(data) - 1, 200
        rng = handler.headers.get("Range", "")
        if rng.startswith("bytes=") and data:
            first, _, last = rng[6:].split(",")[0].partition("-")
            try:
                if first:
                    start = int(first)
                    end = min(int(last), len(data) - 1) if last else len(data) - 1
                else:
                    start = max(len(data) - int(last), 0)
                status = 206 if start <= end and start < len(data) else 416
            except ValueError:
                status = 200
        if status == 416:
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{len(data)}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        body = data[start : end + 1] if status == 206 else data
        handler.send_response(status)
        handler._cors()
        handler.send_header("Content-Type", ctype)
        handler.send_header("Accept-Ranges", "bytes")
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if head:
            return
        try:
            if self.throttle:
                for offset in range(0, len(body), 65536):
                    handler.wfile.write(body[offset : offset + 65536])
                    time.sleep(self.throttle)
            else:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _file(self, path: str) -> Path | None:
        if self.root is None:
            return None
        candidate = (self.root / path.lstrip("/")).resolve()
        root = self.root.resolve()
        if root not in candidate.parents or not candidate.is_file():
            return None
        return candidate
