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


