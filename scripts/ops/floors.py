"""What the image cannot go below: start-up floors on this engine, and what the runtime root drops."""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from .common import DOCKER, LABEL, REPO, docker, free_port, http_status
from .containers import Container

# The smallest HTTP servers the image can run: the standard library's, and uvicorn (with uvloop
# and httptools, as `moontv serve` runs it) around an ASGI app that answers 200.
BARE_SERVER = """
import http.server
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
http.server.HTTPServer(("0.0.0.0", 3000), Handler).serve_forever()
"""
ASGI_SERVER = """
import uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
uvicorn.run(app, host="0.0.0.0", port=3000, loop="uvloop", http="httptools", lifespan="off",
            log_level="warning")
"""


def start_floors(image: str, runs: int = 5) -> dict[str, Any]:
    """Interleaved runs, p50 each: `docker run --rm … python -c pass` (engine + interpreter, no
    network), and `docker run -d -p` -> first 200 of the standard library's server and of uvicorn
    with a trivial app, both from this image (engine + port publishing + interpreter + server)."""
    load_before = os.getloadavg()[0]
    samples: dict[str, list[float]] = {"python_pass": [], "stdlib_server": [], "uvicorn_server": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        docker(
            "run",
            "--rm",
            "--label",
            LABEL,
            "--network",
            "none",
            "--entrypoint",
            "/usr/bin/python3.11",
            image,
            "-c",
            "pass",
        )
        samples["python_pass"].append(time.perf_counter() - t0)
        samples["stdlib_server"].append(_first_200(image, "/usr/bin/python3.11", BARE_SERVER))
        samples["uvicorn_server"].append(_first_200(image, "/opt/venv/bin/python", ASGI_SERVER))
    return {
        "runs": runs,
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        **{key: round(statistics.median(values), 3) for key, values in samples.items()},
    }


def _first_200(image: str, python: str, code: str) -> float:
    port = free_port()
    t0 = time.perf_counter()
    cid = docker(
        "run",
        "-d",
        "--label",
        LABEL,
        "-p",
        f"127.0.0.1:{port}:3000",
        "--entrypoint",
        python,
        image,
        "-c",
        code,
    ).stdout.strip()
    c = Container(cid, port)
    try:
        while time.perf_counter() - t0 < 60:
            if http_status(f"{c.url}/", timeout=0.5) == 200:
                return time.perf_counter() - t0
            time.sleep(0.01)
        raise RuntimeError(f"{python} floor server: no 200 within 60 s")
    finally:
        c.remove()


def runtime_root_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("runtime_root", REPO / "deploy/docker/runtime_root.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def base_slimming(base_image: str, arch: str = "amd64") -> dict[str, Any]:
    """Bytes of the distroless base (files) and what deploy/docker/runtime_root.py drops from it,
    per Debian package, measured on an unpacked copy of the base."""
    rr = runtime_root_module()
    with tempfile.TemporaryDirectory(prefix="moontv-base-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        cid = docker("create", "--platform", f"linux/{arch}", "--label", LABEL, base_image).stdout.strip()
        try:
            with subprocess.Popen([DOCKER, "export", cid], stdout=subprocess.PIPE) as export:
                subprocess.run(
                    ["tar", "-x", "--no-same-owner", "-C", str(root)], stdin=export.stdout, check=True
                )
        finally:
            docker("rm", "-f", cid, check=False)
        before = _files(root)
        freed = rr.remove_dropped(root, arch)
        after = _files(root)
    return {
        "base_image": base_image,
        "base_mb": round(before / 1e6, 2),
        "slimmed_mb": round(after / 1e6, 2),
        "dropped_mb": {
            pkg: round(size / 1e6, 2) for pkg, size in sorted(freed.items(), key=lambda kv: -kv[1])
        },
    }


def _files(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
