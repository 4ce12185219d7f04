"""Run-time checks and measurements of one image."""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .common import LABEL, RUN_ID, Checks, docker, http_status, percentile
from .containers import image_config, rss_kb, start_container, wait_first_200, wait_health
from .floors import start_floors


def smoke(image: str, checks: Checks, *, starts: int = 10) -> dict[str, Any]:
    """Run-time checks and measurements of one image (the host's platform)."""
    result: dict[str, Any] = {}
    cfg = image_config(image)
    user = str(cfg.get("User") or "")
    checks.record(
        "image runs as non-root uid 1001", user.split(":")[0] == "1001", f"USER {user or '<unset>'}"
    )
    hc = (cfg.get("Healthcheck") or {}).get("Test") or []
    checks.record("HEALTHCHECK is exec form (no shell)", bool(hc) and hc[0] == "CMD", json.dumps(hc))
    start_interval = (cfg.get("Healthcheck") or {}).get("StartInterval", 0)
    checks.record(
        "HEALTHCHECK has a start interval", int(start_interval or 0) > 0, f"{(start_interval or 0) / 1e9:g}s"
    )
    shell = docker(
        "run",
        "--rm",
        "--label",
        LABEL,
        "--network",
        "none",
        "--entrypoint",
        "/bin/sh",
        image,
        "-c",
        "echo shell",
        check=False,
    )
    checks.record(
        "no shell in the image",
        "shell" not in shell.stdout and shell.returncode != 0,
        (shell.stderr or shell.stdout).strip()[-160:],
    )

    # start -> first 200, repeated; idle RSS and docker stop on each
    first: list[float] = []
    healthy: list[float] = []
    stops: list[float] = []
    rss: list[int] = []
    exit_codes: list[int] = []
    run_returned: list[float] = []
    load_before = os.getloadavg()[0]
    for i in range(starts):
        c, t0 = start_container(image)
        run_returned.append(time.perf_counter() - t0)
        try:
            first.append(wait_first_200(c, t0))
            if i < 3:
                wait_health(c, "healthy", 30)
                healthy.append(time.perf_counter() - t0)
            time.sleep(3 if i == 0 else 0.5)
            rss.append(rss_kb(c.pid()))
            t1 = time.perf_counter()
            docker("stop", "-t", "10", c.cid)
            stops.append(time.perf_counter() - t1)
            exit_codes.append(int(c.inspect()["State"]["ExitCode"]))
        finally:
            c.remove()
    result["start_first_200_s"] = {
        "runs": len(first),
        "p50": round(percentile(first, 50), 3),
        "p95": round(percentile(first, 95), 3),
        "min": round(min(first), 3),
        "max": round(max(first), 3),
        "docker_run_returned_p50": round(percentile(run_returned, 50), 3),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    floors = checks.guard("start-up floors", lambda: start_floors(image, runs=max(5, starts // 2)))
    if floors:
        result["start_floors_s"] = floors
    result["docker_healthy_s"] = [round(h, 2) for h in healthy]
    result["idle_rss_mb"] = round(statistics.median(rss) / 1024, 1)
    result["stop_s"] = {"p50": round(percentile(stops, 50), 3), "max": round(max(stops), 3)}
    result["stop_exit_codes"] = sorted(set(exit_codes))
    checks.record(
        "SIGTERM: exit 0, never SIGKILL", set(exit_codes) == {0}, f"exit codes {sorted(set(exit_codes))}"
    )
    checks.record("docker stop <= 10 s timeout (graceful)", max(stops) < 10, f"max {max(stops):.2f}s")

    # no bytecode compiled at start: every module the server imports ships compiled
    # (PYTHONVERBOSE logs "# code object from <file>.py" for each module compiled from source)
    def probe_bytecode() -> None:
        c, t0 = start_container(image, "--read-only", env={"PYTHONVERBOSE": "1"})
        try:
            wait_first_200(c, t0)
            for path in ("/api/ready", "/metrics", "/login"):
                http_status(c.url + path, timeout=5)
            logs = docker("logs", c.cid).stderr
            compiled = sorted(set(re.findall(r"^# code object from (/\S+\.py)$", logs, re.M)))
            result["modules_compiled_at_start"] = len(compiled)
            checks.record(
                "no module compiled at start (all bytecode shipped)",
                not compiled,
                f"{len(compiled)} compiled" + (f": {', '.join(compiled[:8])}" if compiled else ""),
            )
        finally:
            c.remove()

    checks.guard("no module compiled at start", probe_bytecode)

    # where the start time goes: the largest cumulative import costs of the server's modules
    def import_profile() -> None:
        proc = docker(
            "run",
            "--rm",
            "--label",
            LABEL,
            "--network",
            "none",
            "--entrypoint",
            "/opt/venv/bin/python",
            image,
            "-X",
            "importtime",
            "-c",
            "import moontv.cli, moontv.app",
            check=False,
        )
        rows = []
        for line in proc.stderr.splitlines():
            m = re.match(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$", line)
            if m and len(m.group(3)) <= 3:  # top-level imports and their direct children
                rows.append((int(m.group(2)), m.group(4)))
        total = max((us for us, name in rows if name == "moontv.app"), default=0)
        result["import_profile_ms"] = {
            "moontv.app total": round(total / 1000),
            **{name: round(us / 1000) for us, name in sorted(rows, reverse=True)[1:9]},
        }

    checks.guard("import profile", import_profile)

    # negative health test: freeze the server -> unhealthy; thaw -> healthy again
    def negative() -> None:
        c, _t0 = start_container(
            image, "--health-interval", "1s", "--health-timeout", "1s", "--health-retries", "2"
        )
        try:
            wait_health(c, "healthy", 30)
            pid = c.pid()
            os.kill(pid, signal.SIGSTOP)
            try:
                took = wait_health(c, "unhealthy", 20)
            finally:
                os.kill(pid, signal.SIGCONT)
            back = wait_health(c, "healthy", 20)
            result["negative_health"] = {
                "unhealthy_after_s": round(took, 1),
                "healthy_again_after_s": round(back, 1),
            }
            checks.record(
                "frozen app (SIGSTOP) -> unhealthy, thawed -> healthy", True, f"unhealthy after {took:.1f}s"
            )
        finally:
            c.remove()

    checks.guard("frozen app (SIGSTOP) -> unhealthy", negative)

    # hardened run with an arbitrary uid, data on a volume that survives a restart
    def hardened() -> None:
        volume = f"moontv-ops-{RUN_ID}"
        docker("volume", "create", "--label", LABEL, volume)
        hard = (
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--tmpfs",
            "/tmp:size=16m",
            "--user",
            "4242:4242",
            "-v",
            f"{volume}:/data",
        )
        env = {"MOONTV_SECRET_KEY": "ops-hardened-run-secret-0123456789abcdef"}
        try:
            c, t0 = start_container(image, *hard, env=env)
            try:
                wait_first_200(c, t0)
                wait_health(c, "healthy", 30)
                token = login(c.url)
                record = {
                    "title": "硬化测试",
                    "source_name": "t",
                    "cover": "",
                    "year": "2024",
                    "index": 1,
                    "total_episodes": 2,
                    "play_time": 5,
                    "total_time": 60,
                    "save_time": 1,
                    "search_title": "",
                }
                status = _post(f"{c.url}/api/playrecords", {"key": "src+1", "record": record}, token)
                ready = http_status(f"{c.url}/api/ready")
                uid = proc_uid(c.pid())
            finally:
                c.remove()
            c2, t0 = start_container(image, *hard, env=env)
            try:
                wait_first_200(c2, t0)
                token = login(c2.url)
                kept = "src+1" in _get(f"{c2.url}/api/playrecords", token)
            finally:
                c2.remove()
            ok = status == 200 and ready == 200 and uid == 4242 and kept
            result["hardened_run"] = {
                "uid": uid,
                "ready": ready,
                "write": status,
                "data_kept_across_restart": kept,
            }
            checks.record(
                "hardened run (--read-only, cap-drop ALL, no-new-privileges, uid 4242) healthy + writes",
                ok,
                json.dumps(result["hardened_run"]),
            )
        finally:
            docker("volume", "rm", "-f", volume, check=False)

    checks.guard("hardened run", hardened)
    return result


def login(url: str) -> str:
    req = urllib.request.Request(
        f"{url}/api/login",
        data=json.dumps({"username": "admin", "password": "ops-check"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return str(json.loads(response.read())["token"])


def _post(url: str, body: dict[str, Any], token: str) -> int:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _get(url: str, token: str) -> str:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.read().decode()


def proc_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return -1


def smoke_foreign(image: str, platform: str, checks: Checks) -> dict[str, Any]:
    """Start the image of another architecture (under qemu binfmt when the host lacks it)."""
    c, t0 = start_container(image, "--platform", platform)
    try:
        took = wait_first_200(c, t0, limit=180)
        arch = docker(
            "exec", c.cid, "/opt/venv/bin/python", "-c", "import platform;print(platform.machine())"
        ).stdout.strip()
        checks.record(
            f"{platform} image starts and answers /api/health", True, f"{arch}, first 200 after {took:.1f}s"
        )
        return {"platform": platform, "machine": arch, "first_200_s": round(took, 2)}
    finally:
        c.remove()
