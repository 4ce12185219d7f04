"""The real server as a subprocess (so its peak RSS is its own), plus a health watcher.

``ServerProcess`` runs ``python -m moontv serve`` on a free port with the given environment;
``vmhwm_mb()`` reads the peak resident set (``VmHWM``) of that process from ``/proc``.
``HealthWatch`` polls ``/api/health`` from its own client while a hostile request runs and
records the slowest answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.conftest import REPO, free_port
from tests.support import write_config

HEALTH_LIMIT_SECONDS = 1.0
RSS_LIMIT_MB = 256.0


class PortTakenError(RuntimeError):
    pass


class ServerProcess:
    def __init__(self, tmp_path: Path, sites: dict[str, str] | None = None, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = write_config(tmp_path / "config.json", sites or {})
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("MOONTV_", "REDIS_URL"))},
            "MOONTV_USERNAME": "admin",
            "MOONTV_PASSWORD": "test",
            "MOONTV_STORAGE": "sqlite",
            "MOONTV_CONFIG": str(config),
            "MOONTV_DATA_DIR": str(tmp_path / "data"),
            "MOONTV_PORT": str(self.port),
            "MOONTV_HOST": "127.0.0.1",
            "MOONTV_LOG_LEVEL": "warning",
            "MOONTV_UPSTREAM_TIMEOUT": "5",
            "PYTHONPATH": os.environ.get("MOONTV_ABUSE_SRC", str(REPO / "src")),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        # the port was free when picked; another process may bind it before the server does, so a
        # start that fails on "address already in use" (and only that) is retried on a new port
        for _ in range(5):
            try:
                return self._start_once()
            except PortTakenError:
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
                self.env["MOONTV_PORT"] = str(self.port)
        raise RuntimeError("no free port could be bound in 5 attempts")

    def _start_once(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moontv", "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                if "address already in use" in err.lower():
                    raise PortTakenError(err[-2000:])
                raise RuntimeError(f"server exited: {err[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def vmhwm_mb(self) -> float:
        assert self.proc is not None
        return status_kb(self.proc.pid, "VmHWM") / 1024

    def vmrss_mb(self) -> float:
        assert self.proc is not None
        return status_kb(self.proc.pid, "VmRSS") / 1024

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, trust_env=False, **kwargs)

    def login(self, username: str = "admin", password: str = "test") -> httpx.Client:
        client = self.client()
        response = client.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return client


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class HealthWatch:
    """Polls ``/api/health`` every ``interval`` seconds from a second client; ``worst`` = slowest answer."""

    def __init__(self, base_url: str, interval: float = 0.05) -> None:
        self.base_url = base_url
        self.interval = interval
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30, trust_env=False) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get("/api/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append(time.perf_counter() - started)
                if not ok:
                    self.errors += 1
                self._stop.wait(self.interval)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        time.sleep(self.interval * 2)
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        time.sleep(self.interval * 2)
        self._stop.set()
        self._thread.join(timeout=40)


def report(name: str, watch: HealthWatch | None = None, server: ServerProcess | None = None) -> str:
    """One line of evidence for the closing note (shown with ``pytest -s``)."""
    parts = [name]
    if watch is not None:
        parts.append(f"health worst {watch.worst:.3f} s over {len(watch.latencies)} polls")
    if server is not None:
        parts.append(f"VmHWM {server.vmhwm_mb():.0f} MB")
    line = "ABUSE " + "; ".join(parts)
    print(line)
    return line
