"""Shared constants and small helpers of the container build tool."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
DOCKER = os.environ.get("DOCKER", "docker")
ARTIFACTS = REPO / "artifacts" / "ops"
PLATFORMS = ("linux/amd64", "linux/arm64")
BASE_ARGS = ("DEBIAN_IMAGE", "NODE_IMAGE", "RUNTIME_IMAGE")
RUN_ID = f"{os.getpid()}-{secrets.token_hex(3)}"
LABEL = f"moontv-ops={RUN_ID}"

# Goals of the container work (reported, not asserted: timings depend on the machine).
GOALS = {
    "image_mb_amd64": ("image size, uncompressed (amd64)", "<=", 80.0, "MB"),
    "start_p50_s": ("docker run -> first 200 on /api/health, p50", "<=", 0.6, "s"),
    "cold_build_s": ("cold build (amd64)", "<=", 90.0, "s"),
    "source_rebuild_s": ("source-change rebuild, dependency layers cached", "<=", 15.0, "s"),
    "idle_rss_mb": ("idle RSS of the server", "<=", 60.0, "MB"),
    "stop_s": ("docker stop", "<=", 2.0, "s"),
}


class OpsError(Exception):
    pass


def run(
    cmd: list[str], *, check: bool = True, timeout: float = 900, **kw: Any
) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise OpsError(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc


def docker(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    return run([DOCKER, *args], check=check, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_status(url: str, timeout: float = 1.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return 0


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def log(msg: str) -> None:
    print(f"[ops] {msg}", file=sys.stderr, flush=True)


def project_version() -> str:
    return str(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"])


def tree_dirty() -> bool:
    proc = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def git_revision() -> str:
    proc = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True
    )
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


class Checks:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def record(self, name: str, ok: bool, detail: str = "") -> bool:
        self.items.append({"check": name, "ok": bool(ok), "detail": detail})
        log(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
        return ok

    def guard(self, name: str, fn: Any) -> Any:
        try:
            return fn()
        except (OpsError, subprocess.SubprocessError, OSError, KeyError, ValueError) as exc:
            self.record(name, False, str(exc)[:500])
            return None

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.items if not c["ok"]]


def host_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
