#!/usr/bin/env python3
"""Core performance report for the MoonTV Python server (a report, not a test).

Run:  /work/venv/bin/python scripts/bench_core.py [--quick] [--json out.json]

Everything is started here and stopped again (by PID / the process group this script created):

* 20 fake Apple CMS sources (``tests.fakes.fake_cms.FakeCmsFleet``, in this process), source *i* answering
  after 50 + 10*i ms (50..240 ms). Each has 10 titles containing the query with 24 m3u8 episodes plus a
  12-episode second play source (the shape of the Node baseline kit's fake). Their answer bodies are
  memoised per query so the fakes stay cheap under load (the bytes are unchanged);
* a private ``redis-server`` on a free port (``--save '' --appendonly no``);
* the server (``moontv serve``) as a SUBPROCESS in a temporary directory, so its RSS is measurable.

Phases: cold starts (spawn -> first 200 on /api/health), idle RSS, aggregated search latency (cache off and
on), ``wrk`` throughput on /api/server-config, /api/playrecords (SQLite and Redis) and /api/search (all
sources at 0 ms, cache off and on). A Markdown report goes to stdout, progress to stderr, raw numbers to
``--json``. Exit status is non-zero only when something could not be measured, never for a missed goal.
Everything listens on 127.0.0.1 only; every wait is bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fakes.fake_cms import FakeCms, FakeCmsFleet, make_item  # noqa: E402

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
N_SOURCES = 20
BASE_MS = 50.0
STEP_MS = 10.0
PLAY_RECORDS = 20
GOAL_SEARCH_OVERHEAD_MS = 20.0
GOAL_STREAM_FIRST_MS = 10.0
GOAL_IDLE_RSS_MIB = 50.0
GOAL_FIRST_200_MS = 300.0
GOAL_CPU_PER_SEARCH_MS = 12.0
ROW_SEARCHES = 20  # per row run: below the default per-user search rate limit (30 a minute)
QUIET_S = 8.0  # after a load burst: longer than the server's idle-trim quiet period (5 s) plus a check
# The original Node MoonTV (v3.8.2, `node start.js`, localstorage), p50s from its published baseline run on
# this machine kind with the same kit (/work/shared/bench, 2026-11-28): it cannot be rebuilt offline here.
NODE_PUBLISHED = {
    "first_200_ms": ("573 (/login), 508 (/api/server-config); `node server.js`: 456 / 335", 573.0),
    "idle_rss_mib": ("79 (after 60 s idle)", 79.0),
    "rss_after_load_mib": ("146 (after 41 searches); 315 right after wrk", 146.0),
    "rss_after_load_quiet_mib": ("294 (10 s after wrk)", 294.0),
    "cpu_per_search_ms": ("24.8 (wrk -c16, 20 sources at 0 ms)", 24.8),
}
# A bare asyncio fan-out client (stdlib only, run in a subprocess): the fake sources' own share of the
# search latency, i.e. the floor no server can beat on this harness. argv: JSON list of URLs, rounds.
FLOOR_CLIENT = r"""
import asyncio, json, sys, time
from urllib.parse import urlsplit

async def get(url):
    u = urlsplit(url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    writer.write(f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return len(data)

async def main():
    urls, rounds = json.loads(sys.argv[1]), int(sys.argv[2])
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        c0 = time.process_time()
        done = []
        async def one(url):
            await get(url)
            done.append(time.perf_counter() - t0)
        await asyncio.wait_for(asyncio.gather(*(one(u) for u in urls)), 30)
        out.append({"first_ms": min(done) * 1000, "last_ms": max(done) * 1000,
                    "cpu_ms": (time.process_time() - c0) * 1000})
    print(json.dumps(out))

asyncio.run(main())
"""
# Inherited variables the server reads; cleared so the caller's shell cannot change what is measured.
SERVER_ENV_PREFIXES = ("MOONTV_", "NEXT_PUBLIC_")
SERVER_ENV_NAMES = ("PASSWORD", "USERNAME", "REDIS_URL", "KVROCKS_URL", "HOSTNAME", "PORT", "SITE_NAME")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _startup_floor() -> Any:
    """scripts/startup_floor.py as a module (its floor apps and its first-200 probe)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("startup_floor", REPO / "scripts" / "startup_floor.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("scripts/startup_floor.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------ statistics


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "n": len(values),
        "min": round(min(values), 2),
        "p50": round(statistics.median(values), 2),
        "p90": round(percentile(values, 90), 2),
        "p95": round(percentile(values, 95), 2),
        "max": round(max(values), 2),
    }


# ------------------------------------------------------------------------------------------ /proc


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
            ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def process_tree(pid: int) -> list[int]:
    kids = _children()
    found: list[int] = []
    stack = [pid]
    while stack and len(found) < 10_000:
        current = stack.pop()
        found.append(current)
        stack.extend(kids.get(current, []))
    return found


def _status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM summed over the process tree, MiB."""
    pids = process_tree(pid)
    return {
        "rss_mib": round(sum(_status_kib(p, "VmRSS") for p in pids) / 1024, 1),
        "hwm_mib": round(sum(_status_kib(p, "VmHWM") for p in pids) / 1024, 1),
        "processes": len(pids),
    }


def tree_cpu_seconds(pid: int) -> float:
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
            fields = stat[stat.rfind(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return total / CLK_TCK


def _own_cpu_seconds() -> float:
    """CPU seconds of this process (the in-process fake sources, plus this driver's small share)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_facts() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_total = _meminfo_kib("MemTotal")
    try:
        version = importlib.metadata.version("moontv")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "kernel": platform.release(),
        "mem_total_gib": round(mem_total / 1024 / 1024, 1),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "moontv_version": version,
        "wrk": _tool_version(["wrk", "-v"]),
        "redis_server": _tool_version(["redis-server", "--version"]),
    }


def _meminfo_kib(key: str) -> int:
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0][:80] if text else "unknown"


# ------------------------------------------------------------------------------------------ networking


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------ fakes


def bench_items(index: int, query: str) -> list[dict[str, Any]]:
    """10 titles per source that match ``query``; 24 m3u8 episodes plus a shorter second play source."""
    items = []
    for n in range(10):
        vod_id = index * 100_000 + n + 1
        main = [
            (f"第{e:02d}集", f"http://{HOST}/share/s{index}/v{vod_id}/ep{e}/index.m3u8") for e in range(1, 25)
        ]
        alt = [(f"HD{e:02d}", f"http://{HOST}/alt/s{index}/v{vod_id}/ep{e}.m3u8") for e in range(1, 13)]
        items.append(
            make_item(
                vod_id,
                f"{query} 第{n + 1}部",
                type_id=13,
                type_name="国产剧",
                year=str(2015 + n % 10),
                groups=[("m3u8", main), ("hd", alt)],
                douban_id=30_000_000 + vod_id,
                content=f"<p>这是 <b>{query}</b> 的第{n + 1}部简介。&nbsp;源 {index}。</p>",
                vod_actor="演员甲,演员乙",
                vod_director="导演丙",
            )
        )
    return items


def memoise_answers(source: FakeCms) -> None:
    """Cache the fake's generated body per parameter set (same bytes, far less CPU under load).

    The data never changes during the benchmark and only search requests are made, so this is exact.
    """
    generate = source._vod
    answers: dict[tuple[tuple[str, str], ...], bytes] = {}

    def cached(params: dict[str, str]) -> bytes:
        key = tuple(sorted(params.items()))
        body = answers.get(key)
        if body is None:
            body = generate(params)
            if len(answers) < 256:
                answers[key] = body
        return body

    source._vod = cached  # type: ignore[method-assign]


def set_delays(fleet: FakeCmsFleet, base_ms: float, step_ms: float) -> list[float]:
    delays = []
    for index, source in enumerate(fleet.sources):
        source.delay = (base_ms + step_ms * index) / 1000.0
        delays.append(base_ms + step_ms * index)
    return delays


def upstream_requests(fleet: FakeCmsFleet) -> int:
    return sum(len(source.requests) for source in fleet.sources)


# ------------------------------------------------------------------------------------------ processes


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log = open(workdir / "redis.log", "ab")  # noqa: SIM115 - closed in stop()
        # fmt: off
        cmd = [
            "redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning", "--dir", str(workdir),
        ]
        # fmt: on
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            with contextlib.suppress(OSError):
                if self.command("PING") == b"+PONG":
                    return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not answer PING within 15 s")

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def command(self, *args: str) -> bytes:
        payload = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args
        )
        with socket.create_connection((HOST, self.port), timeout=5) as sock:
            sock.sendall(payload)
            return sock.recv(4096).strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


class MoonTVServer:
    """``moontv serve`` in its own session (process group), so the whole tree can be measured and stopped."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, port: int, log_path: Path) -> None:
        self.port = port
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, path: str = "/api/health", deadline_s: float = 60.0) -> tuple[float, float]:
        """-> (ms to first TCP accept, ms to first HTTP 200 on ``path``), both from spawn."""
        accept_ms: float | None = None
        end = self.started + deadline_s
        while time.perf_counter() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} (see its log)")
            conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
            try:
                conn.connect()
            except OSError:
                conn.close()
                time.sleep(0.005)
                continue
            if accept_ms is None:
                accept_ms = (time.perf_counter() - self.started) * 1000
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    return accept_ms, (time.perf_counter() - self.started) * 1000
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            time.sleep(0.01)
        raise TimeoutError(f"no 200 on {path} within {deadline_s:g} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()
        for _ in range(100):
            if not port_open(self.port):
                break
            time.sleep(0.05)


# ------------------------------------------------------------------------------------------ benchmark


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    fleet: FakeCmsFleet
    redis: RedisServer | None
    server_cmd: list[str]
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    argv: list[str] | None = None
    _servers: list[MoonTVServer] = field(default_factory=list)
    _runs: int = 0

    @property
    def query_path(self) -> str:
        return "/api/search?q=" + urllib.parse.quote(self.args.query)

    def attempt(self, name: str, fn: Callable[[], None]) -> None:
        log(f"phase {name}")
        try:
            fn()
        except Exception as exc:
            self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            log(f"phase {name} FAILED: {type(exc).__name__}: {exc}")

    def server_env(self, storage: str, cache: bool, data_dir: Path, port: int) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(SERVER_ENV_PREFIXES) and k not in SERVER_ENV_NAMES
        }
        env.update(
            PASSWORD="test",
            USERNAME="admin",
            HOSTNAME=HOST,
            PORT=str(port),
            MOONTV_CONFIG=str(self.workdir / "config.json"),
            MOONTV_DATA_DIR=str(data_dir),
            MOONTV_SEARCH_CACHE="1" if cache else "0",
            # one benchmark user makes every search: the per-user limit (30 a minute) would answer 429
            MOONTV_SEARCH_RATE_LIMIT="100000",
            MOONTV_ALLOW_PRIVATE_UPSTREAMS="127.0.0.1/32",  # the fake sources (CMS fetches are SSRF-guarded)
            NEXT_PUBLIC_STORAGE_TYPE=storage,
            PYTHONUNBUFFERED="1",
        )
        if storage == "redis":
            if self.redis is None:
                raise RuntimeError("redis-server is not available")
            env["REDIS_URL"] = self.redis.url
        return env

    @contextlib.contextmanager
    def server(
        self, label: str, storage: str = "sqlite", cache: bool = True, extra_env: dict[str, str] | None = None
    ) -> Iterator[MoonTVServer]:
        self._runs += 1
        data_dir = self.workdir / f"data-{self._runs:02d}-{label}"
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        srv = MoonTVServer(
            self.server_cmd,
            self.server_env(storage, cache, data_dir, port) | (extra_env or {}),
            self.workdir,
            port,
            self.workdir / f"server-{self._runs:02d}-{label}.log",
        )
        self._servers.append(srv)
        try:
            yield srv
        finally:
            srv.stop()
            self._servers.remove(srv)

    def stop_all(self) -> None:
        for srv in list(self._servers):
            srv.stop()
        self._servers.clear()

    # -- helpers -------------------------------------------------------------------------------------

    def login(self, srv: MoonTVServer) -> str:
        status, headers, body = http_request(
            srv.port,
            "POST",
            "/api/login",
            json.dumps({"username": "admin", "password": "test"}).encode(),
            {"Content-Type": "application/json"},
        )
        if status != 200:
            raise RuntimeError(f"login failed: HTTP {status} {body[:200]!r}")
        for name, value in headers:
            if name.lower() == "set-cookie" and value.startswith("auth="):
                return value.split(";", 1)[0]
        raise RuntimeError("login: no auth cookie in the answer")

    def seed_play_records(self, srv: MoonTVServer, cookie: str) -> None:
        now_ms = int(time.time() * 1000)
        for i in range(PLAY_RECORDS):
            src = f"fake{i % N_SOURCES:02d}"
            record = {
                "title": f"测试剧 {i}",
                "source_name": f"Fake CMS {i % N_SOURCES:02d}",
                "cover": f"http://{HOST}/cover/{i}.jpg",
                "year": "2020",
                "index": 1 + i % 10,
                "total_episodes": 24,
                "play_time": 100 + i,
                "total_time": 2400,
                "save_time": now_ms - i * 1000,
                "search_title": "测试剧",
            }
            body = json.dumps(
                {"key": f"{src}+{100_000 * (i % N_SOURCES) + 1 + i // N_SOURCES}", "record": record}
            )
            status, _, answer = http_request(
                srv.port,
                "POST",
                "/api/playrecords",
                body.encode(),
                {"Content-Type": "application/json", "Cookie": cookie},
            )
            if status != 200:
                raise RuntimeError(f"seeding play record {i}: HTTP {status} {answer[:200]!r}")
        status, _, answer = http_request(srv.port, "GET", "/api/playrecords", headers={"Cookie": cookie})
        count = len(json.loads(answer)) if status == 200 else -1
        if count != PLAY_RECORDS:
            raise RuntimeError(f"GET /api/playrecords returned {count} records, expected {PLAY_RECORDS}")

    def timed_search(self, srv: MoonTVServer, cookie: str, stream: bool) -> dict[str, Any]:
        path = self.query_path + ("&stream=1" if stream else "")
        started = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, srv.port, timeout=60)
        try:
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            if not stream:
                body = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                data = json.loads(body) if response.status == 200 else {}
                return {
                    "status": response.status,
                    "ms": elapsed,
                    "results": len(data.get("results") or []),
                    "failed": len(data.get("failedSources") or []),
                    "bytes": len(body),
                }
            first_ms: float | None = None
            first_site: str | None = None
            lines = 0
            size = 0
            for _ in range(100_000):  # bounded: a search answer has a few dozen lines
                line = response.readline()
                if not line:
                    break
                size += len(line)
                if not line.strip():
                    continue
                lines += 1
                if first_ms is None:
                    first_ms = (time.perf_counter() - started) * 1000
                    with contextlib.suppress(ValueError, AttributeError):
                        first_site = json.loads(line).get("site")
            return {
                "status": response.status,
                "first_line_ms": first_ms,
                "ms": (time.perf_counter() - started) * 1000,
                "lines": lines,
                "first_site": first_site,
                "bytes": size,
            }
        finally:
            conn.close()

    def run_wrk(
        self, srv: MoonTVServer, path: str, conns: int, cookie: str | None, label: str
    ) -> dict[str, Any]:
        url = f"http://{HOST}:{srv.port}{path}"
        base = ["wrk", "-t2", f"-c{conns}", "--latency", "--timeout", "10s"]
        if cookie:
            base += ["-H", f"Cookie: {cookie}"]
        if self.args.wrk_warmup > 0:
            subprocess.run(
                [*base, f"-d{self.args.wrk_warmup}s", url],
                capture_output=True,
                text=True,
                timeout=self.args.wrk_warmup + 60,
            )
        cpu0 = tree_cpu_seconds(srv.pid)
        own0 = _own_cpu_seconds()
        up0 = upstream_requests(self.fleet)
        started = time.perf_counter()
        proc = subprocess.run(
            [*base, f"-d{self.args.wrk_duration}s", url],
            capture_output=True,
            text=True,
            timeout=self.args.wrk_duration + 60,
        )
        elapsed = time.perf_counter() - started
        cpu = tree_cpu_seconds(srv.pid) - cpu0
        own = _own_cpu_seconds() - own0
        upstream = upstream_requests(self.fleet) - up0
        out = proc.stdout
        result: dict[str, Any] = {"label": label, "path": path, "connections": conns, "raw": out}
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if match is None:
            raise RuntimeError(f"wrk {label}: no Requests/sec in its output: {(out + proc.stderr)[-300:]!r}")
        result["rps"] = float(match.group(1))
        match = re.search(r"(\d+) requests in", out)
        result["requests"] = int(match.group(1)) if match else 0
        units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
            result[f"p{pct}_ms"] = round(float(value) * units[unit], 2)
        match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        result["non2xx"] = int(match.group(1)) if match else 0
        match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        result["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
        result["server_cpu_pct"] = round(100 * cpu / elapsed, 1)
        result["server_cpu_ms_per_req"] = (
            round(1000 * cpu / result["requests"], 3) if result["requests"] else None
        )
        result["upstream_rps"] = round(upstream / elapsed, 1)
        result["fakes_cpu_pct"] = round(100 * own / elapsed, 1)
        result["rss_after_mib"] = tree_memory(srv.pid)["rss_mib"]
        if result["non2xx"] or result["socket_errors"]:
            self.notes.append(
                f"wrk {label}: {result['non2xx']} non-2xx answers, {result['socket_errors']} socket errors"
            )
        log(
            f"  wrk {label}: {result['rps']} req/s p50 {result.get('p50_ms')} ms "
            f"p99 {result.get('p99_ms')} ms cpu {result['server_cpu_pct']}%"
        )
        return result

    def search_series(self, srv: MoonTVServer, cookie: str, key: str) -> None:
        """1 first + N non-stream + N stream searches with sources at 50..240 ms; stores latency summaries.

        The first search after the start is reported on its own (with the cache on it fills the cache).
        """
        delays = set_delays(self.fleet, BASE_MS, STEP_MS)
        slowest, fastest = max(delays), min(delays)
        runs = self.args.search_runs
        up0 = upstream_requests(self.fleet)
        first = self.timed_search(srv, cookie, stream=False)
        up1 = upstream_requests(self.fleet)
        plain = [self.timed_search(srv, cookie, stream=False) for _ in range(runs)]
        up2 = upstream_requests(self.fleet)
        streamed = [self.timed_search(srv, cookie, stream=True) for _ in range(runs)]
        up3 = upstream_requests(self.fleet)
        bad = [r["status"] for r in [first, *plain, *streamed] if r["status"] != 200]
        if bad:
            raise RuntimeError(f"search answered {sorted(set(bad))}")
        if any(r["failed"] for r in [first, *plain]):
            self.notes.append(f"{key}: some searches reported failed sources")
        firsts = [r["first_line_ms"] for r in streamed if r["first_line_ms"] is not None]
        if len(firsts) != len(streamed):
            raise RuntimeError("a stream=1 search produced no line")
        self.results[key] = {
            "slowest_source_ms": slowest,
            "fastest_source_ms": fastest,
            "first_search_ms": round(first["ms"], 2),
            "upstream_requests_first_search": up1 - up0,
            "results_per_search": sorted({r["results"] for r in plain}),
            "bytes_per_search": plain[-1]["bytes"],
            "upstream_requests_per_search": round((up2 - up1) / runs, 2),
            "upstream_requests_per_stream_search": round((up3 - up2) / runs, 2),
            "nonstream_ms": summarize([r["ms"] for r in plain]),
            "nonstream_overhead_ms": summarize([r["ms"] - slowest for r in plain]),
            "stream_first_line_ms": summarize(firsts),
            "stream_first_line_over_fastest_ms": summarize([f - fastest for f in firsts]),
            "stream_total_ms": summarize([r["ms"] for r in streamed]),
            "stream_lines": sorted({r["lines"] for r in streamed}),
            "stream_bytes": streamed[-1]["bytes"],
            "stream_first_sites": sorted({str(r["first_site"]) for r in streamed}),
        }
        res = self.results[key]
        log(
            f"  {key}: non-stream p50 {res['nonstream_ms']['p50']} ms, "
            f"first line p50 {res['stream_first_line_ms']['p50']} ms, "
            f"upstream/search {res['upstream_requests_per_search']}"
        )

    def fanout_floor(self) -> None:
        """The same 20-source fan-out made by a bare stdlib asyncio client (no server): the harness floor."""
        delays = set_delays(self.fleet, BASE_MS, STEP_MS)
        path = "/api.php/provide/vod?ac=videolist&wd=" + urllib.parse.quote(self.args.query)
        urls = [f"http://{HOST}:{source.port}{path}" for source in self.fleet.sources]
        rounds = self.args.search_runs + 1
        proc = subprocess.run(
            [sys.executable, "-c", FLOOR_CLIENT, json.dumps(urls), str(rounds)],
            capture_output=True,
            text=True,
            timeout=60 + rounds * 5,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"floor client failed: {proc.stderr[-300:]}")
        runs = json.loads(proc.stdout)[1:]  # the first round also opens the fakes' code paths
        self.results["fanout_floor"] = {
            "first_over_fastest_ms": summarize([r["first_ms"] - min(delays) for r in runs]),
            "last_over_slowest_ms": summarize([r["last_ms"] - max(delays) for r in runs]),
        }
        floor = self.results["fanout_floor"]
        log(
            f"  harness floor: first answer +{floor['first_over_fastest_ms']['p50']} ms, "
            f"last answer +{floor['last_over_slowest_ms']['p50']} ms"
        )

    # -- the goal rows, side by side ------------------------------------------------------------------

    def variants(self) -> list[tuple[str, dict[str, str]]]:
        found: list[tuple[str, dict[str, str]]] = [("now", {})]
        if self.args.before:
            found.append(("before", {"PYTHONPATH": str(self.args.before)}))
        return found

    def _row_run(self, env: dict[str, str], out: dict[str, list[float]]) -> None:
        """One fresh server: first 200 on /api/health, idle RSS, CPU per uncached search, RSS after."""
        with self.server("rows", "sqlite", cache=False, extra_env=env) as srv:
            accept_ms, ready_ms = srv.wait_ready("/api/health")
            out["accept_ms"].append(accept_ms)
            out["first_200_ms"].append(ready_ms)
            out["rss_ready_mib"].append(tree_memory(srv.pid)["rss_mib"])
            time.sleep(self.args.row_idle)
            out["idle_rss_mib"].append(tree_memory(srv.pid)["rss_mib"])
            cookie = self.login(srv)
            set_delays(self.fleet, 0, 0)
            try:
                self.timed_search(srv, cookie, stream=False)  # loads the search feature; not counted
                cpu0 = tree_cpu_seconds(srv.pid)
                answers = [self.timed_search(srv, cookie, stream=False) for _ in range(ROW_SEARCHES)]
                cpu = tree_cpu_seconds(srv.pid) - cpu0
            finally:
                set_delays(self.fleet, BASE_MS, STEP_MS)
            if {a["status"] for a in answers} != {200} or {a["results"] for a in answers} != {200}:
                raise RuntimeError(f"row searches: {sorted({(a['status'], a['results']) for a in answers})}")
            out["cpu_per_search_ms"].append(1000 * cpu / ROW_SEARCHES)
            out["rss_after_load_mib"].append(tree_memory(srv.pid)["rss_mib"])
            time.sleep(QUIET_S)
            out["rss_after_load_quiet_mib"].append(tree_memory(srv.pid)["rss_mib"])
        with self.server("rows-login", "sqlite", cache=False, extra_env=env) as srv:
            out["first_200_login_ms"].append(srv.wait_ready("/login")[1])

    def _floor_run(self, out: dict[str, list[float]]) -> None:
        floor = _startup_floor()
        for label, code in floor.IMPORTS.items():
            wall_ms, peak_mib = floor.import_cost(code)
            out[f"import ms: {label}"].append(wall_ms)
            out[f"import MiB: {label}"].append(peak_mib)
        env = {k: v for k, v in os.environ.items() if not k.startswith(SERVER_ENV_PREFIXES)}
        for name, code in (("starlette", floor.MINIMAL_APP), ("fastapi", floor.MINIMAL_FASTAPI_APP)):
            port = free_port()
            ms, rss = floor.first_200([sys.executable, "-c", code, str(port)], port, env, self.workdir)
            out[f"{name}_first_200_ms"].append(ms)
            out[f"{name}_rss_mib"].append(rss)
        set_delays(self.fleet, 0, 0)
        try:
            path = "/api.php/provide/vod?ac=videolist&wd=" + urllib.parse.quote(self.args.query)
            urls = [f"http://{HOST}:{source.port}{path}" for source in self.fleet.sources]
            proc = subprocess.run(
                [sys.executable, "-c", FLOOR_CLIENT, json.dumps(urls), str(ROW_SEARCHES + 1)],
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            set_delays(self.fleet, BASE_MS, STEP_MS)
        if proc.returncode != 0:
            raise RuntimeError(f"floor client failed: {proc.stderr[-300:]}")
        rounds = json.loads(proc.stdout)[1:]
        out["fanout_cpu_ms"].append(statistics.median(r["cpu_ms"] for r in rounds))
        out["parse_cpu_ms"].append(self.parse_cpu_ms())

    def parse_cpu_ms(self) -> float:
        """CPU of parsing the same 20 answers into results with MoonTV's parser, in this process (no
        network, no server): median of 11 rounds."""
        from moontv.sources.models import ApiSite
        from moontv.sources.parse import parse_search_page

        params = {"ac": "videolist", "wd": self.args.query}
        answers = [
            (
                ApiSite(key=self.fleet.key(i), name=f"Fake CMS {i:02d}", api=source.base_url),
                source._vod(params),
            )
            for i, source in enumerate(self.fleet.sources)
        ]
        samples = []
        for _ in range(11):
            started = time.process_time()
            pages = [parse_search_page(body, site, filter_adult=True) for site, body in answers]
            samples.append((time.process_time() - started) * 1000)
        if sum(len(page.items) for page in pages) != 200:
            raise RuntimeError("parsing the fake answers did not give 200 results")
        return statistics.median(samples)

    def phase_rows(self) -> None:
        """``--row-runs`` rounds; each round starts every variant once (interleaved) plus the floors."""
        samples: dict[str, dict[str, list[float]]] = {}
        loads: list[float] = []
        for i in range(self.args.row_runs):
            loads.append(round(os.getloadavg()[0], 2))
            for label, env in self.variants():
                self._row_run(env, samples.setdefault(label, defaultdict(list)))
            self._floor_run(samples.setdefault("floor", defaultdict(list)))
            now = samples["now"]
            log(
                f"  round {i + 1}: first 200 {now['first_200_ms'][-1]:.0f} ms, idle "
                f"{now['idle_rss_mib'][-1]} MiB, cpu/search {now['cpu_per_search_ms'][-1]:.1f} ms"
            )
        self.results["rows"] = {
            "runs": self.args.row_runs,
            "loadavg_per_round": loads,
            "idle_s": self.args.row_idle,
            "searches_per_run": ROW_SEARCHES,
            "samples": {k: {m: [round(x, 2) for x in v] for m, v in d.items()} for k, d in samples.items()},
            "summary": {k: {m: summarize(v) for m, v in d.items()} for k, d in samples.items()},
        }

    # -- phases --------------------------------------------------------------------------------------

    def phase_cold(self) -> None:
        runs = []
        for i in range(self.args.cold_runs):
            with self.server(f"cold{i}") as srv:
                accept_ms, ready_ms = srv.wait_ready("/api/health")
                mem = tree_memory(srv.pid)
                runs.append({"accept_ms": round(accept_ms, 1), "ready_ms": round(ready_ms, 1), **mem})
            time.sleep(0.3)
        self.results["cold_start"] = {
            "runs": runs,
            "accept_ms": summarize([r["accept_ms"] for r in runs]),
            "first_200_ms": summarize([r["ready_ms"] for r in runs]),
            "rss_mib": summarize([r["rss_mib"] for r in runs]),
        }
        log(f"  cold start p50 {self.results['cold_start']['first_200_ms']['p50']} ms")

    def phase_sqlite_nocache(self) -> None:
        with self.server("sqlite-nocache", "sqlite", cache=False) as srv:
            srv.wait_ready()
            memory: dict[str, Any] = {"at_ready": tree_memory(srv.pid)}
            time.sleep(self.args.idle_wait)
            memory[f"after_idle_{self.args.idle_wait:g}s"] = tree_memory(srv.pid)
            self.results["memory_sqlite"] = memory
            log(
                f"  RSS at ready {memory['at_ready']['rss_mib']} MiB, after idle "
                f"{memory[f'after_idle_{self.args.idle_wait:g}s']['rss_mib']} MiB"
            )
            cookie = self.login(srv)
            self.search_series(srv, cookie, "search_cache_off")
            try:
                self.fanout_floor()
            except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                self.notes.append(f"harness floor not measured: {exc}")
            memory["after_searches"] = tree_memory(srv.pid)
            self.seed_play_records(srv, cookie)
            wrk = [
                self.run_wrk(srv, "/api/server-config", 32, None, "server-config (sqlite)"),
                self.run_wrk(srv, "/api/playrecords", 32, cookie, "playrecords (sqlite)"),
            ]
            set_delays(self.fleet, 0, 0)
            try:
                wrk.append(self.run_wrk(srv, self.query_path, 16, cookie, "search 0 ms, cache off"))
            finally:
                set_delays(self.fleet, BASE_MS, STEP_MS)
            memory["after_load"] = tree_memory(srv.pid)
            self.results.setdefault("wrk", []).extend(wrk)

    def phase_sqlite_cache(self) -> None:
        with self.server("sqlite-cache", "sqlite", cache=True) as srv:
            srv.wait_ready()
            cookie = self.login(srv)
            self.search_series(srv, cookie, "search_cache_on")
            set_delays(self.fleet, 0, 0)
            try:
                result = self.run_wrk(srv, self.query_path, 16, cookie, "search 0 ms, cache on")
            finally:
                set_delays(self.fleet, BASE_MS, STEP_MS)
            self.results.setdefault("wrk", []).append(result)

    def phase_redis(self) -> None:
        if self.redis is None:
            raise RuntimeError("redis-server could not be started")
        self.redis.command("FLUSHALL")
        with self.server("redis", "redis", cache=False) as srv:
            srv.wait_ready()
            memory: dict[str, Any] = {"at_ready": tree_memory(srv.pid)}
            cookie = self.login(srv)
            self.seed_play_records(srv, cookie)
            wrk = [
                self.run_wrk(srv, "/api/server-config", 32, None, "server-config (redis)"),
                self.run_wrk(srv, "/api/playrecords", 32, cookie, "playrecords (redis)"),
            ]
            memory["after_load"] = tree_memory(srv.pid)
            self.results["memory_redis"] = memory
            self.results.setdefault("wrk", []).extend(wrk)


# ------------------------------------------------------------------------------------------ report


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "not measured"
    return f"{'met' if value <= goal else 'MISSED'} (goal <= {goal:g})"


def _cell(summary: dict[str, float] | None) -> str:
    if not summary:
        return "-"
    return f"**{_fmt(summary['p50'])}** ({_fmt(summary['min'])}-{_fmt(summary['max'])})"


GOAL_ROWS = (
    ("process start -> first 200 `/api/health` (ms)", "first_200_ms", GOAL_FIRST_200_MS, "first_200_ms"),
    ("process start -> first 200 `/login` page (ms)", "first_200_login_ms", None, "first_200_ms"),
    ("process start -> port accepting (ms)", "accept_ms", None, None),
    ("RSS at first 200 (MiB)", "rss_ready_mib", None, None),
    ("idle RSS (MiB)", "idle_rss_mib", GOAL_IDLE_RSS_MIB, "idle_rss_mib"),
    (
        f"RSS right after {ROW_SEARCHES} uncached searches (MiB)",
        "rss_after_load_mib",
        None,
        "rss_after_load_mib",
    ),
    (
        f"RSS {QUIET_S:g} s after that load (MiB)",
        "rss_after_load_quiet_mib",
        None,
        "rss_after_load_quiet_mib",
    ),
    (
        "CPU per uncached 20-source search (ms)",
        "cpu_per_search_ms",
        GOAL_CPU_PER_SEARCH_MS,
        "cpu_per_search_ms",
    ),
)


def render_rows(rows: dict[str, Any]) -> list[str]:
    summary = rows["summary"]
    now, before, floor = summary.get("now", {}), summary.get("before"), summary.get("floor", {})
    out = [
        "## Goals, side by side with the Node original",
        "",
        f"p50 (min-max) over {rows['runs']} interleaved rounds; each round starts a fresh "
        "`moontv serve` (SQLite) "
        + ("and the `before` tree " if before else "")
        + "for every row (first 200 on `/login` in a second fresh start), idles "
        f"{rows['idle_s']:g} s, then runs {rows['searches_per_run']} sequential uncached searches "
        f"(20 sources at 0 ms, cache off) and waits {QUIET_S:g} s. Load average (1 min) at each round: "
        f"{rows['loadavg_per_round']}. Node: its published p50s from the same kit on this machine kind "
        "(`node start.js`, localstorage); the Node original cannot be rebuilt here offline, so it was not "
        "re-run in this session.",
        "",
        "| row | MoonTV now | " + ("before | " if before else "") + "Node (published) | goal |",
        "|---|---|" + ("---|" if before else "") + "---|---|",
    ]
    for label, key, goal, node_key in GOAL_ROWS:
        cells = [label, _cell(now.get(key))]
        if before:
            cells.append(_cell(before.get(key)))
        cells.append(NODE_PUBLISHED[node_key][0] if node_key else "-")
        value = (now.get(key) or {}).get("p50")
        cells.append(_verdict(value, goal) if goal is not None else "")
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "Floors measured in the same rounds (what is reachable before any MoonTV code runs):",
        "",
        "| floor | p50 (min-max) |",
        "|---|---|",
        "| one-route Starlette app under uvicorn: start -> first 200 (ms) | "
        f"{_cell(floor.get('starlette_first_200_ms'))} |",
        f"| same, RSS at first 200 (MiB) | {_cell(floor.get('starlette_rss_mib'))} |",
        "| one-route FastAPI app under uvicorn: start -> first 200 (ms) | "
        f"{_cell(floor.get('fastapi_first_200_ms'))} |",
        f"| same, RSS at first 200 (MiB) | {_cell(floor.get('fastapi_rss_mib'))} |",
        "| bare stdlib asyncio client fetching the same 20 answers (new connection each, no parsing): "
        f"CPU per fan-out (ms) | {_cell(floor.get('fanout_cpu_ms'))} |",
        "| MoonTV's parser on the same 20 answers, in-process (no network, no server): CPU (ms) | "
        f"{_cell(floor.get('parse_cpu_ms'))} |",
        "",
        "What each dependency costs to import (a fresh interpreter per sample, same rounds; wall ms and peak "
        "RSS). Rows marked with a feature are imported on that feature's first use, not at start:",
        "",
        "| import | ms | peak RSS MiB |",
        "|---|---|---|",
    ]
    for key in floor:
        if key.startswith("import ms: "):
            label = key.removeprefix("import ms: ")
            out.append(f"| {label} | {_cell(floor[key])} | {_cell(floor.get('import MiB: ' + label))} |")
    out.append("")
    return out


def render_report(bench: Bench, facts: dict[str, Any], wall_s: float) -> str:
    r = bench.results
    a = bench.args
    out = [
        "# MoonTV (Python) core benchmark",
        "",
        "Generated by `.venv/bin/python scripts/bench_core.py"
        + "".join(f" {arg}" for arg in (bench.argv or []))
        + " > docs/benchmarks.md` (a report, not a test; numbers vary with machine load, see the load "
        "averages below). The original Node MoonTV measured with its own kit: `scripts/bench_node_kit.sh`."
        + (
            " `--before` is a checkout of the commit before the start-up work (`git archive <commit> src`), "
            "measured in the same rounds."
            if a.before
            else ""
        ),
        "",
        f"Machine: {facts['nproc']} CPU ({facts['cpu_model']}), {facts['mem_total_gib']} GiB RAM, "
        f"kernel {facts['kernel']}; {facts['python_impl']} {facts['python']}; "
        f"moontv {facts['moontv_version']}; "
        f"{facts['wrk']}; {facts['redis_server'][:40]}; load average at start {facts['loadavg_at_start']}.",
        "",
        f"Setup: {N_SOURCES} in-process fake CMS sources ({BASE_MS:g}+{STEP_MS:g}*i ms, 10 titles each), "
        f"query `{a.query}`, server `{' '.join(bench.server_cmd)}` as a subprocess on 127.0.0.1, "
        f"{a.search_runs} sequential searches per series (new connection each), wrk -t2 {a.wrk_duration}s "
        f"after a {a.wrk_warmup}s warm-up{', QUICK mode' if a.quick else ''}. Wall time {wall_s:.0f} s.",
        "",
    ]

    if "rows" in r:
        out += render_rows(r["rows"])
    out += ["## Aggregated search (20 sources, 50..240 ms)", ""]
    out += ["| metric | n | min | p50 | p90 | p95 | max | goal |", "|---|---|---|---|---|---|---|---|"]

    def row(name: str, stats: dict[str, float] | None, goal: str = "") -> None:
        if stats is None:
            out.append(f"| {name} | - | - | - | - | - | - | not measured |")
            return
        cells = " | ".join(_fmt(stats[k]) for k in ("min", "p50", "p90", "p95", "max"))
        out.append(f"| {name} | {stats['n']} | {cells} | {goal} |")

    off, on = r.get("search_cache_off"), r.get("search_cache_on")
    if off:
        over, first = off["nonstream_overhead_ms"], off["stream_first_line_over_fastest_ms"]
        row("cache OFF: non-stream latency (ms)", off["nonstream_ms"])
        row(
            f"cache OFF: overhead = latency - slowest source {off['slowest_source_ms']:g} ms (ms)",
            over,
            _verdict(over["p50"], GOAL_SEARCH_OVERHEAD_MS) + " p50",
        )
        row("cache OFF: stream=1 first NDJSON line (ms)", off["stream_first_line_ms"])
        row(
            f"cache OFF: first line - fastest source {off['fastest_source_ms']:g} ms (ms)",
            first,
            _verdict(first["p50"], GOAL_STREAM_FIRST_MS) + " p50",
        )
        row("cache OFF: stream=1 total (ms)", off["stream_total_ms"])
    else:
        out.append("| cache OFF: not measured | | | | | | | |")
    floor = r.get("fanout_floor")
    if floor:
        row("harness floor: bare asyncio fan-out, last answer - slowest (ms)", floor["last_over_slowest_ms"])
        row(
            "harness floor: bare asyncio fan-out, first answer - fastest (ms)", floor["first_over_fastest_ms"]
        )
    if on:
        row("cache ON (2nd+ search, from cache): non-stream latency (ms)", on["nonstream_ms"])
        row("cache ON: stream=1 first NDJSON line (ms)", on["stream_first_line_ms"])
        row("cache ON: stream=1 total (ms)", on["stream_total_ms"])
    else:
        out.append("| cache ON: not measured | | | | | | | |")
    out.append("")
    if floor:
        out.append(
            "- harness floor = the same 20 requests made straight to the fakes by a bare stdlib asyncio "
            "client in its own process (new connection each, as the fakes close every connection):"
            " the part of the overhead that comes from the fakes and the machine, not from the server."
        )
    for label, s in (("cache OFF", off), ("cache ON", on)):
        if s:
            out.append(
                f"- {label}: first search after start {s['first_search_ms']:.1f} ms "
                f"({s['upstream_requests_first_search']} upstream requests); results per search "
                f"{s['results_per_search']}, {s['bytes_per_search']} bytes "
                f"(stream {s['stream_bytes']} bytes, "
                f"{s['stream_lines']} NDJSON lines, first from {s['stream_first_sites']}); upstream requests "
                f"per later search {s['upstream_requests_per_search']:g} (stream "
                f"{s['upstream_requests_per_stream_search']:g})."
            )
    out.append("")

    out += ["## Throughput (wrk -t2 --latency)", ""]
    out += [
        "| endpoint | conns | req/s | p50 ms | p75 ms | p90 ms | p99 ms | non-2xx / sock err "
        "| server CPU % | CPU ms/req | upstream req/s | fakes CPU % | RSS after MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w in r.get("wrk", []):
        out.append(
            f"| {w['label']} | {w['connections']} | {_fmt(w['rps'])} | {_fmt(w.get('p50_ms'))} | "
            f"{_fmt(w.get('p75_ms'))} | {_fmt(w.get('p90_ms'))} | {_fmt(w.get('p99_ms'))} | "
            f"{w['non2xx']} / {w['socket_errors']} | {_fmt(w['server_cpu_pct'])} | "
            f"{_fmt(w['server_cpu_ms_per_req'])} | {_fmt(w['upstream_rps'])} | {_fmt(w['fakes_cpu_pct'])} | "
            f"{_fmt(w['rss_after_mib'])} |"
        )
    out.append("")

    out += ["## Memory (VmRSS of the server process tree, MiB)", ""]
    out += ["| when | RSS | peak (VmHWM) | processes | goal |", "|---|---|---|---|---|"]
    for mode in ("sqlite", "redis"):
        for when, m in (r.get(f"memory_{mode}") or {}).items():
            goal = _verdict(m["rss_mib"], GOAL_IDLE_RSS_MIB) if when.startswith("after_idle") else ""
            out.append(
                f"| {mode}: {when.replace('_', ' ')} | {_fmt(m['rss_mib'])} | {_fmt(m['hwm_mib'])} | "
                f"{m['processes']} | {goal} |"
            )
    if not r.get("memory_sqlite"):
        out.append("| idle RSS | not measured | | | |")
    out.append("")

    out += ["## Cold start (spawn -> first 200 on /api/health, SQLite)", ""]
    cold = r.get("cold_start")
    if cold:
        out += ["| metric | n | min | p50 | p90 | p95 | max |", "|---|---|---|---|---|---|---|"]
        for name, key in (
            ("port accepting (ms)", "accept_ms"),
            ("first 200 (ms)", "first_200_ms"),
            ("RSS at first 200 (MiB)", "rss_mib"),
        ):
            s = cold[key]
            cells = " | ".join(_fmt(s[k]) for k in ("min", "p50", "p90", "p95", "max"))
            out.append(f"| {name} | {s['n']} | {cells} |")
    else:
        out.append("not measured")
    out.append("")

    if bench.notes or bench.errors:
        out += ["## Notes", ""]
        out += [f"- {n}" for n in bench.notes]
        out += [f"- NOT MEASURED: {e}" for e in bench.errors]
        out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ main


def default_server_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "moontv"
    if exe.exists():
        return [str(exe), "serve"]
    found = shutil.which("moontv")
    if found:
        return [found, "serve"]
    return [sys.executable, "-m", "moontv", "serve"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="idle 5 s, 3 s wrk runs, 10 searches, 3 cold starts")
    ap.add_argument("--json", type=Path, help="write every raw number here")
    ap.add_argument(
        "--idle-wait", type=float, help="seconds without traffic before the idle RSS (60; quick 5)"
    )
    ap.add_argument("--search-runs", type=int, help="sequential searches per series (20; quick 10)")
    ap.add_argument("--cold-runs", type=int, help="cold starts (5; quick 3)")
    ap.add_argument("--wrk-duration", type=int, help="seconds per recorded wrk run (15; quick 3)")
    ap.add_argument("--wrk-warmup", type=int, help="seconds of unrecorded wrk warm-up (3; quick 1)")
    ap.add_argument("--query", default="测试")
    ap.add_argument("--server-cmd", help="server command line (default: moontv serve next to this python)")
    ap.add_argument(
        "--phases", default="rows,cold,sqlite,cache,redis", help="subset of rows,cold,sqlite,cache,redis"
    )
    ap.add_argument("--row-runs", type=int, help="interleaved rounds of the goal rows (5; quick 5)")
    ap.add_argument(
        "--row-idle", type=float, help="seconds idle before the idle RSS of a row run (20; quick 5)"
    )
    ap.add_argument(
        "--before",
        type=Path,
        help="a source tree (its src/ dir) to measure as 'before' in the goal rows, interleaved (PYTHONPATH)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")
    args = ap.parse_args(argv)
    defaults = {
        "idle_wait": (60.0, 5.0),
        "search_runs": (20, 10),
        "cold_runs": (5, 3),
        "wrk_duration": (15, 3),
        "wrk_warmup": (3, 1),
        "row_runs": (5, 5),
        "row_idle": (20.0, 5.0),
    }
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def _public_argv(argv: list[str] | None) -> list[str]:
    """The command line for the report, with a --before directory shown as a placeholder."""
    args = list(sys.argv[1:] if argv is None else argv)
    for i, arg in enumerate(args):
        if arg == "--before" and i + 1 < len(args):
            args[i + 1] = "<before>/src"
        elif arg.startswith("--before="):
            args[i] = "--before=<before>/src"
        elif arg == "--json" and i + 1 < len(args):
            args[i + 1] = "<out.json>"
    return args


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not on PATH", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    facts = machine_facts()
    server_cmd = args.server_cmd.split() if args.server_cmd else default_server_cmd()
    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    workdir = Path(tempfile.mkdtemp(prefix="moontv-bench-"))
    started = time.perf_counter()
    fleet = FakeCmsFleet(
        N_SOURCES, base_ms=BASE_MS, step_ms=STEP_MS, items_factory=lambda i: bench_items(i, args.query)
    )
    redis: RedisServer | None = None
    bench: Bench | None = None
    try:
        for source in fleet.sources:
            memoise_answers(source)
        fleet.start()
        (workdir / "config.json").write_text(
            json.dumps(fleet.config_json(), ensure_ascii=False), encoding="utf-8"
        )
        redis_error = None
        if "redis" in phases:
            try:
                redis = RedisServer(workdir)
            except (OSError, RuntimeError, TimeoutError) as exc:
                redis_error = f"redis-server: {exc}"
        bench = Bench(args, workdir, fleet, redis, server_cmd, argv=_public_argv(argv))
        if redis_error:
            bench.errors.append(redis_error)
        log(f"workdir {workdir}; server {' '.join(server_cmd)}")
        plan = (
            ("rows", "goal rows", bench.phase_rows),
            ("cold", "cold start", bench.phase_cold),
            ("sqlite", "sqlite, cache off", bench.phase_sqlite_nocache),
            ("cache", "sqlite, cache on", bench.phase_sqlite_cache),
            ("redis", "redis", bench.phase_redis),
        )
        for key, name, fn in plan:
            if key in phases and not (key == "redis" and redis is None):
                bench.attempt(name, fn)
        print(render_report(bench, facts, time.perf_counter() - started))
        if args.json:
            payload = {"facts": facts, "args": {k: str(v) for k, v in vars(args).items()}, **bench.results}
            payload["errors"] = bench.errors
            payload["notes"] = bench.notes
            args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        return 1 if bench.errors else 0
    finally:
        if bench is not None:
            bench.stop_all()
        if redis is not None:
            redis.stop()
        fleet.stop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
