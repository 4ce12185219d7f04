"""Three real `moontv serve` processes on one Redis behind HAProxy (Debian's package), health-checked on
/api/ready: the deployment shape of compose.scale.yaml, on this machine's loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

CHECK_INTERVAL_S = 0.5
CHECK_FALL = 2
CHECK_RISE = 2
CHECK_TIMEOUT_S = 1.0
# > CHECK_FALL * (CHECK_INTERVAL_S + CHECK_TIMEOUT_S): even with slow checks on a loaded machine
# the LB has marked the replica DOWN before it closes its port.
DRAIN_S = 3.5
SECRET = "scale-test-shared-secret-0123456789abcdef0123"

HAPROXY_CFG = """global
    maxconn 1024
    stats socket {sock} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check {check_timeout}ms
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    option http-server-close
    option http-buffer-request

frontend web
    bind 127.0.0.1:{port}
    default_backend moontv

backend moontv
    balance roundrobin
    option httpchk GET /api/ready
    http-check expect status 200
    default-server inter {inter}ms fall {fall} rise {rise}
{servers}
"""


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a killed replica hung up mid-segment
            super().handle_error(request, client_address)


class SegmentOrigin:
    """A CDN stand-in: every path is a ~256 KiB MPEG-TS segment (188-byte packets), sent in pieces."""

    SIZE = 1394 * 188

    def __init__(self) -> None:
        body = (b"\x47" + bytes(range(187))) * (self.SIZE // 188)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for start in range(0, len(body), 32 * 1024):
                    self.wfile.write(body[start : start + 32 * 1024])
                    time.sleep(0.005)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Replica:
    name: str
    root: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.root / f"{self.name}.log").open("ab")
        cmd = [sys.executable, "-m", "moontv", "serve", "--port", str(self.port),
               "--config", str(self.root / "config.json"), "--data-dir", str(self.root / "data")]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)

    def wait_ready(self, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, f"{self.name} exited"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/api/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} not ready")

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Cluster:
    def __init__(self, root: Path, redis_url: str, config: str, replicas: int = 3) -> None:
        self.root = root
        (root / "config.json").write_text(config, encoding="utf-8")
        base = {k: v for k, v in os.environ.items() if not k.startswith("MOONTV_")}
        for name in ("PASSWORD", "USERNAME", "PORT", "HOSTNAME", "REDIS_URL", "NEXT_PUBLIC_STORAGE_TYPE"):
            base.pop(name, None)
        env = base | {
            "PASSWORD": "scale-test",
            "NEXT_PUBLIC_STORAGE_TYPE": "redis",
            "REDIS_URL": redis_url,
            "MOONTV_SECRET_KEY": SECRET,
            "MOONTV_DRAIN_SECONDS": str(DRAIN_S),
            "MOONTV_SHUTDOWN_GRACE": "10",
            "MOONTV_ALLOW_PRIVATE_UPSTREAMS": "127.0.0.1",
            "MOONTV_LOGIN_RATE_LIMIT": "1000",
            "MOONTV_SEARCH_RATE_LIMIT": "100000",  # one user runs the whole load
        }
        self.replicas = [Replica(f"r{i}", root, env) for i in range(replicas)]
        self.lb_port = free_port()
        self.sock = root / "haproxy.sock"
        self.lb: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.lb_port}"

    def start(self) -> None:
        for replica in self.replicas:
            replica.start()
        for replica in self.replicas:
            replica.wait_ready()
        servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port} check" for r in self.replicas)
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(
            HAPROXY_CFG.format(
                sock=self.sock,
                port=self.lb_port,
                inter=int(CHECK_INTERVAL_S * 1000),
                check_timeout=int(CHECK_TIMEOUT_S * 1000),
                fall=CHECK_FALL,
                rise=CHECK_RISE,
                servers=servers,
            )
        )
        log = (self.root / "haproxy.log").open("ab")
        self.lb = subprocess.Popen(["haproxy", "-f", str(cfg), "-db"], stdout=log, stderr=log)
        self.wait_lb(lambda states: all(s == "UP" for s in states.values()), 20)

    def lb_states(self) -> dict[str, str]:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(str(self.sock))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        out = {}
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "moontv" and row.get("svname", "").startswith("r"):
                out[row["svname"]] = row["status"].split()[0]
        return out

    def wait_lb(self, predicate, timeout: float) -> float:  # type: ignore[no-untyped-def]
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with contextlib.suppress(OSError, IndexError):
                if predicate(self.lb_states()):
                    return time.monotonic() - started
            time.sleep(0.02)
        raise AssertionError(f"load balancer state not reached: {self.lb_states()}")

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()
        if self.lb is not None and self.lb.poll() is None:
            self.lb.terminate()
            self.lb.wait(10)
