#!/usr/bin/env python3
"""Start-up floor: what the interpreter and the server libraries cost before any MoonTV code runs,
next to the real server, so a start-up or memory goal can be judged against what is reachable.

    .venv/bin/python scripts/startup_floor.py [--runs 5]

Rows (each a fresh process, p50 of --runs): import wall time and peak RSS of
  python -c pass | + uvicorn | + starlette | + fastapi | + moontv.app (the whole app, not started)
and spawn -> first HTTP 200 for one-route Starlette and FastAPI apps under uvicorn (the floors) and for
`moontv serve` on SQLite (/api/health). Prints a Markdown table and the load average; standard library
only (besides the packages measured). Everything listens on 127.0.0.1 and is stopped again.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
IMPORTS = {
    "python -c pass": "pass",
    "+ uvicorn": "import uvicorn",
    "+ starlette (app, routing, responses)": "import uvicorn, starlette.applications, starlette.routing",
    "+ fastapi": "import uvicorn, fastapi",
    # each dependency on top of uvicorn + fastapi (what it adds when imported at start)
    "+ fastapi + uvloop, httptools, websockets (uvicorn's server loop)": (
        "import uvicorn, fastapi, uvloop, uvicorn.protocols.http.httptools_impl, "
        "uvicorn.protocols.websockets.websockets_sansio_impl"
    ),
    "+ fastapi + pydantic_settings": "import uvicorn, fastapi, pydantic_settings",
    "+ fastapi + prometheus_client": "import uvicorn, fastapi, prometheus_client",
    "+ fastapi + argon2": "import uvicorn, fastapi, argon2",
    "+ fastapi + sqlite3": "import uvicorn, fastapi, sqlite3",
    "+ fastapi + orjson": "import uvicorn, fastapi, orjson",
    "+ fastapi + jinja2 (pages: first page view)": "import uvicorn, fastapi, jinja2",
    "+ fastapi + httpx (streams, Douban, admin: first use)": "import uvicorn, fastapi, httpx",
    "+ fastapi + aiohttp (CMS sources: first search)": "import uvicorn, fastapi, aiohttp",
    "+ moontv.app (what `moontv serve` imports before serving)": "import moontv.cli, moontv.app",
}
MINIMAL_APP = """
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def health(request):
    return JSONResponse({"status": "ok"})
app = Starlette(routes=[Route("/api/health", health)])
uvicorn.run(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), log_level="warning")
"""
MINIMAL_FASTAPI_APP = """
import uvicorn
from fastapi import FastAPI
from starlette.responses import JSONResponse
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
@app.get("/api/health")
async def health():
    return JSONResponse({"status": "ok"})
uvicorn.run(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def import_cost(code: str) -> tuple[float, float]:
    """(wall ms, peak RSS MiB) of a fresh interpreter running ``code``.

    The peak is the process's own VmHWM: ``ru_maxrss`` would start from the parent's size (Linux keeps it
    across exec), so a large parent would hide small imports."""
    probe = (
        f"{code}\nfor line in open('/proc/self/status'):\n"
        "    if line.startswith('VmHWM:'): print(line.split()[1])"
    )
    started = time.perf_counter()
    out = subprocess.run([PY, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    wall = (time.perf_counter() - started) * 1000
    return wall, int(out.stdout.split()[-1]) / 1024


def first_200(cmd: list[str], port: int, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(ms from spawn to the first 200 on /api/health, RSS MiB then)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        while time.perf_counter() - started < 60:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[:3]} exited with {proc.returncode}")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/api/health")
                if conn.getresponse().status == 200:
                    took = (time.perf_counter() - started) * 1000
                    rss = _rss_mib(proc.pid)
                    return took, rss
            except OSError:
                time.sleep(0.005)
            finally:
                conn.close()
        raise TimeoutError("no 200 within 60 s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    load = os.getloadavg()
    rows = []
    for label, code in IMPORTS.items():
        samples = [import_cost(code) for _ in range(args.runs)]
        rows.append((label, [s[0] for s in samples], [s[1] for s in samples]))
    with tempfile.TemporaryDirectory(prefix="moontv-floor-") as tmp:
        work = Path(tmp)
        (work / "config.json").write_text("{}")
        base = {k: v for k, v in os.environ.items() if not k.startswith("MOONTV_")}
        for label, make in (
            ("spawn -> first 200: Starlette one-route app under uvicorn (floor)",
             lambda port: [PY, "-c", MINIMAL_APP, str(port)]),
            ("spawn -> first 200: FastAPI one-route app under uvicorn (floor with FastAPI)",
             lambda port: [PY, "-c", MINIMAL_FASTAPI_APP, str(port)]),
            ("spawn -> first 200: moontv serve (SQLite)",
             lambda port: [PY, "-m", "moontv", "serve", "--port", str(port), "--config",
                           str(work / "config.json"), "--data-dir", str(work / f"data{port}")]),
        ):  # fmt: skip
            samples = []
            for _ in range(args.runs):
                port = free_port()
                env = base | {"PASSWORD": "floor", "PORT": str(port)}
                samples.append(first_200(make(port), port, env, work))
            rows.append((label, [s[0] for s in samples], [s[1] for s in samples]))
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs; "
          f"{args.runs} runs each, p50 (min-max)\n")  # fmt: skip
    print("| row | ms | RSS MiB |\n| --- | --- | --- |")
    for label, walls, rss in rows:
        print(
            f"| {label} | {statistics.median(walls):.0f} ({min(walls):.0f}-{max(walls):.0f}) "
            f"| {statistics.median(rss):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
