"""The shipped load balancer settings (deploy/haproxy/haproxy.cfg's ``defaults``) replay a request
on another replica when its connection is reset before any answer — the moment a stopping replica
closes its listening socket, or a killed one dies. Requests with a body included: HAProxy can only
replay what it buffered (``option http-buffer-request``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")


def shipped_defaults() -> str:
    text = (REPO / "deploy" / "haproxy" / "haproxy.cfg").read_text()
    section = text.split("\ndefaults\n", 1)[1].split("\nfrontend ", 1)[0]
    return "\n".join(line for line in section.splitlines() if not line.strip().startswith("log "))


class ResettingReplica:
    """Accepts a connection, reads the request, resets the connection (SO_LINGER 0): no answer."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.recv(65536)
            self.hits += 1
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:  # HAProxy drops the connection once a bodiless answer's headers are in
            self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        return


def test_shipped_retry_settings_replay_posts_after_a_reset(tmp_path: Path) -> None:
    broken = ResettingReplica()
    healthy = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=healthy.serve_forever, daemon=True).start()
    port = free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(
        f"global\n    maxconn 64\ndefaults\n{shipped_defaults()}\n"
        f"frontend web\n    bind 127.0.0.1:{port}\n    default_backend b\n"
        f"backend b\n    balance roundrobin\n    server broken 127.0.0.1:{broken.port}\n"
        f"    server healthy 127.0.0.1:{healthy.server_address[1]}\n"
    )
    lb = subprocess.Popen(
        ["haproxy", "-f", str(cfg), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert lb.poll() is None and time.monotonic() < deadline, "haproxy did not start"
                time.sleep(0.05)
        answers = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20, trust_env=False) as client:
            for i in range(10):
                post = client.post("/api/playrecords", json={"key": f"k{i}"})
                answers.append((post.status_code, post.text))
                answers.append((client.get("/api/ready").status_code, ""))
        assert broken.hits >= 5  # round robin really sent requests to the resetting replica
        assert answers == [x for i in range(10) for x in ((200, f'{{"key":"k{i}"}}'), (200, ""))]
    finally:
        lb.terminate()
        lb.wait(10)
        healthy.shutdown()
        broken.sock.close()
