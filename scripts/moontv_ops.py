#!/usr/bin/env python3
"""moontv-ops: build, measure, scan and publish the MoonTV container image.

    python3 scripts/moontv_ops.py build      [--platform linux/amd64] [--tag moontv:dev]
    python3 scripts/moontv_ops.py multiarch  [--tag moontv:dev]          # amd64 + arm64, one build
    python3 scripts/moontv_ops.py smoke      [--image moontv:dev]         # run checks on an image
    python3 scripts/moontv_ops.py measure    [--starts 10]                # the full report (below)
    python3 scripts/moontv_ops.py scan       [--image moontv:dev]         # Trivy gate
    python3 scripts/moontv_ops.py gate REPORT.json                       # gate a saved Trivy report
    python3 scripts/moontv_ops.py sbom       [--image moontv:dev]         # syft CycloneDX SBOM
    python3 scripts/moontv_ops.py push       --registry HOST/REPO [--allow-unscanned]
    python3 scripts/moontv_ops.py pin                                      # refresh FROM digests

`measure` runs everything and writes artifacts/ops/report.json and docs/validation.md from that run:
image size per arch, cold build, warm rebuilds (no change / source change / dependency change, cached
steps parsed from BuildKit's rawjson progress), start -> first 200 (p50/p95), idle RSS, docker stop,
negative health test (SIGSTOP -> unhealthy), hardened run, arbitrary uid, multi-arch manifest lists,
vulnerability scan and SBOM. Exit status: 0 all checks passed, 1 a check failed.

Non-destructive: it never prunes images, build cache or volumes it did not create. Scratch copies
of the build context live in a temporary directory; containers and volumes it starts carry the
label moontv-ops=<run id> and are removed by id at the end.
Needs: docker with the buildx plugin (BuildKit). Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DOCKER = os.environ.get("DOCKER", "docker")
ARTIFACTS = REPO / "artifacts" / "ops"
PLATFORMS = ("linux/amd64", "linux/arm64")
BASE_ARGS = ("DEBIAN_IMAGE", "NODE_IMAGE", "RUNTIME_IMAGE")
RUN_ID = f"{os.getpid()}-{secrets.token_hex(3)}"
LABEL = f"moontv-ops={RUN_ID}"

# Goals of the container work (reported, not asserted: timings depend on the machine).
GOALS = {
    "image_mb_amd64": ("image size, uncompressed (amd64)", "<=", 80.0, "MB"),
    "start_p50_s": ("docker run -> first 200 on /api/health, p50", "<=", 1.0, "s"),
    "cold_build_s": ("cold build (amd64)", "<=", 90.0, "s"),
    "source_rebuild_s": ("source-change rebuild, dependency layers cached", "<=", 15.0, "s"),
    "idle_rss_mb": ("idle RSS of the server", "<=", 60.0, "MB"),
    "stop_s": ("docker stop", "<=", 2.0, "s"),
}


class OpsError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# small helpers


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


def _tree_dirty() -> bool:
    proc = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def git_revision() -> str:
    proc = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True
    )
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


# ---------------------------------------------------------------------------------------------
# BuildKit rawjson progress


@dataclass
class Step:
    digest: str
    name: str
    cached: bool = False
    started: dt.datetime | None = None
    completed: dt.datetime | None = None
    error: str = ""

    @property
    def seconds(self) -> float:
        if self.started and self.completed:
            return max(0.0, (self.completed - self.started).total_seconds())
        return 0.0


@dataclass
class BuildStats:
    wall_s: float
    steps: list[Step] = field(default_factory=list)

    @property
    def instructions(self) -> list[Step]:
        """Dockerfile instructions ("[stage 2/4] RUN ..."), not BuildKit's internal vertices, and not
        FROM (a base image is resolved, never cached)."""
        return [s for s in self.steps if INSTRUCTION.match(s.name) and "] FROM " not in s.name]

    @property
    def cached_ratio(self) -> float:
        steps = self.instructions
        return sum(s.cached for s in steps) / len(steps) if steps else 0.0

    def summary(self) -> dict[str, Any]:
        steps = self.instructions
        executed = [s for s in steps if not s.cached]
        return {
            "wall_s": round(self.wall_s, 2),
            "steps": len(steps),
            "cached_steps": len(steps) - len(executed),
            "cached_ratio": round(self.cached_ratio, 3),
            "executed": [f"{s.name[:90]} ({s.seconds:.1f}s)" for s in executed],
        }


INSTRUCTION = re.compile(r"^\[(?:linux/\w+ )?[\w.-]+ +\d+/\d+\] ")


def _ts(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    # 2026-11-28T04:57:56.387864271Z -> microseconds
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", value)
    if not match:
        return None
    base, frac, zone = match.groups()
    frac = (frac or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return dt.datetime.fromisoformat(f"{base}.{frac}{zone}")


def parse_rawjson(text: str) -> list[Step]:
    """Fold BuildKit's `--progress=rawjson` stream (concatenated JSON SolveStatus objects) into the
    final state of each vertex."""
    decoder = json.JSONDecoder()
    steps: dict[str, Step] = {}
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        if text[pos] != "{":  # a plain line from the client (warnings): skip it
            nl = text.find("\n", pos)
            pos = len(text) if nl < 0 else nl + 1
            continue
        obj, pos = decoder.raw_decode(text, pos)
        for vertex in obj.get("vertexes") or []:
            step = steps.setdefault(vertex["digest"], Step(vertex["digest"], vertex.get("name", "")))
            step.name = vertex.get("name", step.name)
            step.cached = step.cached or bool(vertex.get("cached"))
            step.started = _ts(vertex.get("started")) or step.started
            step.completed = _ts(vertex.get("completed")) or step.completed
            step.error = vertex.get("error", step.error)
    return list(steps.values())


# ---------------------------------------------------------------------------------------------
# building


def dockerfile_base_pins(dockerfile: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in dockerfile.read_text().splitlines():
        if line.startswith("FROM "):
            break
        match = re.match(r"^ARG (\w+)=(\S+)$", line)
        if match and match.group(1) in BASE_ARGS:
            pins[match.group(1)] = match.group(2)
    return pins


def resolve_bases(mode: str, dockerfile: Path) -> tuple[dict[str, str], str]:
    """Build args for the base images. `pinned`: the Dockerfile's digests (needs a registry).
    `local`: the same names without digests, from the local image store (stand-ins built from
    Debian packages where no registry is reachable). `auto`: pinned if the registry answers."""
    pins = dockerfile_base_pins(dockerfile)
    if mode == "auto":
        first = next(iter(pins.values()))
        probe = docker("buildx", "imagetools", "inspect", first, check=False, timeout=30)
        mode = "pinned" if probe.returncode == 0 else "local"
    if mode == "pinned":
        return {}, "pinned by digest (registry)"
    args = {}
    for name, ref in pins.items():
        local = ref.split("@", 1)[0]
        if docker("image", "inspect", local, check=False).returncode != 0:
            raise OpsError(f"{local}: not in the local image store and no registry answers")
        args[name] = local
    return args, "local images named like the pinned bases (digest pins not resolvable: no registry)"


def build(
    context: Path,
    *,
    tag: str | None,
    platforms: tuple[str, ...] = ("linux/amd64",),
    bases: dict[str, str],
    extra_args: dict[str, str] | None = None,
    no_cache: bool = False,
    load: bool = True,
    push: bool = False,
    save_progress: Path | None = None,
) -> BuildStats:
    cmd = [DOCKER, "buildx", "build", "--progress=rawjson", "--platform", ",".join(platforms)]
    args = {"VERSION": project_version(), "REVISION": git_revision(), **bases, **(extra_args or {})}
    for key, value in args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    if no_cache:
        cmd.append("--no-cache")
    if tag:
        for t in tag.split(","):
            cmd += ["-t", t]
    if push:
        cmd.append("--push")
    elif load:
        cmd.append("--load")
    cmd.append(str(context))
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    if save_progress:
        save_progress.parent.mkdir(parents=True, exist_ok=True)
        save_progress.write_text(proc.stderr)
    steps = parse_rawjson(proc.stderr)
    if proc.returncode != 0:
        failed = [s for s in steps if s.error]
        detail = "; ".join(f"{s.name}: {s.error}" for s in failed) or proc.stderr[-1500:]
        raise OpsError(f"build failed: {detail}")
    return BuildStats(wall, steps)


def scratch_context() -> Path:
    """A copy of the build context (the files .dockerignore lets through are all under these)."""
    tmp = Path(tempfile.mkdtemp(prefix="moontv-ctx-"))
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "__pycache__", "*.pyc", "artifacts", "data"
    )
    for name in (
        "Dockerfile",
        ".dockerignore",
        "pyproject.toml",
        "README.md",
        "package.json",
        "package-lock.json",
    ):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, tmp / name)
    shutil.copytree(REPO / "src", tmp / "src", ignore=ignore)
    shutil.copytree(REPO / "deploy" / "docker", tmp / "deploy" / "docker", ignore=ignore)
    (tmp / "scripts").mkdir()
    shutil.copy2(REPO / "scripts" / "build_frontend.sh", tmp / "scripts" / "build_frontend.sh")
    return tmp


def touch_source(ctx: Path) -> str:
    target = ctx / "src" / "moontv" / "__init__.py"
    with target.open("a") as fh:
        fh.write(f"\n# rebuild probe {RUN_ID}\n")
    return "appended a comment to src/moontv/__init__.py"


def change_dependency(ctx: Path) -> str:
    """Change one runtime requirement's specifier (same packages resolve): requirements.txt changes,
    so the dependency layers rebuild; downloads come from the pip cache mount."""
    path = ctx / "pyproject.toml"
    text = path.read_text()
    deps = tomllib.loads(text)["project"]["dependencies"]
    for dep in deps:
        match = re.match(r"^([A-Za-z0-9_.-]+)>=([\d.]+)$", dep)
        if match and f'"{dep}"' in text:
            # an exclusion no release matches, unique per run: the same packages resolve, but
            # requirements.txt differs from every earlier build, so the cache cannot hold it
            new = f"{match.group(1)}>={match.group(2)},!=0.0.{secrets.randbelow(10**9)}"
            path.write_text(text.replace(f'"{dep}"', f'"{new}"', 1))
            return f"pyproject.toml: {dep} -> {new}"
    raise OpsError("no simple 'name>=x' dependency to change in pyproject.toml")


# ---------------------------------------------------------------------------------------------
# image inspection


def image_platform_sizes(image: str) -> dict[str, dict[str, int]]:
    """Per platform: compressed bytes (sum of layer blobs) and uncompressed bytes (sum of the
    files' sizes in the layers, as `du` would count the unpacked image), from `docker save`."""
    out: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="moontv-save-") as tmp:
        archive = Path(tmp) / "image.tar"
        docker("save", "-o", str(archive), image, timeout=600)
        with tarfile.open(archive) as tar:

            def blob(digest: str) -> bytes:
                member = tar.extractfile(f"blobs/sha256/{digest.split(':', 1)[1]}")
                assert member is not None
                return member.read()

            index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
            manifests: list[dict[str, Any]] = []
            pending = list(index.get("manifests", []))
            while pending:
                desc = pending.pop()
                doc = json.loads(blob(desc["digest"]))
                if "manifests" in doc:
                    pending.extend(doc["manifests"])
                elif "layers" in doc:
                    manifests.append({"platform": desc.get("platform"), "doc": doc})
            for item in manifests:
                doc = item["doc"]
                config = json.loads(blob(doc["config"]["digest"]))
                plat = f"{config.get('os')}/{config.get('architecture')}"
                if plat == "unknown/unknown" or "layers" not in doc:
                    continue
                compressed = sum(int(layer["size"]) for layer in doc["layers"])
                files = 0
                packages: dict[str, int] = {}
                for layer in doc["layers"]:
                    try:
                        raw = blob(layer["digest"])
                    except KeyError:  # a platform whose layers are not all local
                        files = -1
                        break
                    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
                    with tarfile.open(fileobj=io.BytesIO(data)) as lt:
                        for member in lt.getmembers():
                            if not member.isreg():
                                continue
                            files += member.size
                            top = _site_package(member.name)
                            if top:
                                packages[top] = packages.get(top, 0) + member.size
                largest = sorted(packages.items(), key=lambda kv: -kv[1])[:12]
                out[plat] = {
                    "compressed": compressed,
                    "uncompressed": files,
                    "layers": len(doc["layers"]),
                    "python_packages_mb": {k: round(v / 1e6, 2) for k, v in largest},
                    "python_total_mb": round(sum(packages.values()) / 1e6, 1),
                }
    return out


SITE = "opt/venv/lib/python3.11/site-packages/"


def _site_package(name: str) -> str:
    """'opt/venv/lib/python3.11/site-packages/redis/client.pyc' -> 'redis' ('' outside site-packages)."""
    name = name.removeprefix("./")
    if not name.startswith(SITE) or name == SITE:
        return ""
    top = name[len(SITE) :].split("/", 1)[0]
    return re.sub(r"(-[\d.]+)?\.dist-info$|\.(cpython|abi3).*$|\.pyc?$", "", top)


def image_config(image: str) -> dict[str, Any]:
    return json.loads(docker("image", "inspect", image).stdout)[0]["Config"]


# ---------------------------------------------------------------------------------------------
# running containers


@dataclass
class Container:
    cid: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inspect(self) -> dict[str, Any]:
        return json.loads(docker("inspect", self.cid).stdout)[0]

    def pid(self) -> int:
        return int(self.inspect()["State"]["Pid"])

    def health(self) -> str:
        state = self.inspect()["State"]
        return str((state.get("Health") or {}).get("Status", "none"))

    def remove(self) -> None:
        docker("rm", "-f", "-v", self.cid, check=False)


def start_container(image: str, *extra: str, env: dict[str, str] | None = None) -> tuple[Container, float]:
    port = free_port()
    cmd = ["run", "-d", "--label", LABEL, "-p", f"127.0.0.1:{port}:3000"]
    for key, value in {"PASSWORD": "ops-check", **(env or {})}.items():
        cmd += ["-e", f"{key}={value}"]
    t0 = time.perf_counter()
    cid = docker(*cmd, *extra, image).stdout.strip()
    return Container(cid, port), t0


def wait_first_200(c: Container, t0: float, limit: float = 60) -> float:
    while time.perf_counter() - t0 < limit:
        if http_status(f"{c.url}/api/health", timeout=0.5) == 200:
            return time.perf_counter() - t0
        time.sleep(0.01)
    logs = docker("logs", "--tail", "20", c.cid, check=False)
    raise OpsError(f"no 200 on /api/health within {limit}s: {logs.stdout[-600:]}{logs.stderr[-600:]}")


def wait_health(c: Container, want: str, limit: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        if c.health() == want:
            return time.perf_counter() - t0
        time.sleep(0.1)
    raise OpsError(f"container not {want} within {limit}s (now {c.health()})")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


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
    for i in range(starts):
        c, t0 = start_container(image)
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
    }
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
                token = _login(c.url)
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
                uid = _proc_uid(c.pid())
            finally:
                c.remove()
            c2, t0 = start_container(image, *hard, env=env)
            try:
                wait_first_200(c2, t0)
                token = _login(c2.url)
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


def _login(url: str) -> str:
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


def _proc_uid(pid: int) -> int:
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


# ---------------------------------------------------------------------------------------------
# registry, manifests, scan, SBOM


def registry_manifest(registry: str, repo: str, ref: str) -> dict[str, Any]:
    accept = ", ".join(
        [
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
        ]
    )
    req = urllib.request.Request(f"http://{registry}/v2/{repo}/manifests/{ref}", headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


def manifest_platforms(doc: dict[str, Any]) -> list[str]:
    out = []
    for m in doc.get("manifests", []):
        p = m.get("platform") or {}
        if p.get("os") == "unknown":  # attestation manifests
            continue
        out.append(f"{p.get('os')}/{p.get('architecture')}")
    return sorted(out)


def release_tags(repo: str) -> list[str]:
    version = project_version()
    tags = [f"{repo}:{version}", f"{repo}:latest"]
    rev = git_revision()
    if rev != "unknown":
        tags.append(f"{repo}:sha-{rev[:7]}")
    return tags


@contextlib.contextmanager
def local_registry() -> Any:
    """Debian's docker-registry on 127.0.0.1 (a stand-in for a real registry in CI)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise OpsError("docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="moontv-registry-"))
    config = tmp / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
        f"{tmp / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 15
        while http_status(f"http://127.0.0.1:{port}/v2/") != 200:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise OpsError("local registry did not start")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


TRIVY_BLOCKING = ("HIGH", "CRITICAL")


def gate_report(report: dict[str, Any]) -> dict[str, Any]:
    """Evaluate a Trivy JSON report: fixable HIGH/CRITICAL findings block a release."""
    blocking: list[str] = []
    counts: dict[str, int] = {}
    for result in report.get("Results") or []:
        for vuln in result.get("Vulnerabilities") or []:
            sev = str(vuln.get("Severity", "UNKNOWN")).upper()
            counts[sev] = counts.get(sev, 0) + 1
            fixable = bool(vuln.get("FixedVersion")) or str(vuln.get("Status", "")).lower() == "fixed"
            if sev in TRIVY_BLOCKING and fixable:
                blocking.append(
                    f"{vuln.get('VulnerabilityID')} {sev} {vuln.get('PkgName')} "
                    f"{vuln.get('InstalledVersion')} -> {vuln.get('FixedVersion')}"
                )
    return {"status": "fail" if blocking else "pass", "counts": counts, "blocking": blocking}


def trivy_scan(image: str) -> dict[str, Any]:
    """Returns status "pass" | "fail" | "not scanned" (never "no vulnerabilities" unless scanned)."""
    trivy = os.environ.get("TRIVY") or shutil.which("trivy")
    if not trivy:
        return {"status": "not scanned", "reason": "trivy is not installed"}
    with tempfile.TemporaryDirectory(prefix="moontv-trivy-") as tmp:
        out = Path(tmp) / "report.json"
        proc = subprocess.run(
            [
                trivy,
                "image",
                "--quiet",
                "--format",
                "json",
                "--output",
                str(out),
                "--severity",
                "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL",
                "--timeout",
                "5m",
                image,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0 or not out.exists():
            return {"status": "not scanned", "reason": _trivy_reason(proc.stderr)}
        report = json.loads(out.read_text())
    gate = gate_report(report)
    db = report.get("Metadata", {}).get("DB", {}) if isinstance(report.get("Metadata"), dict) else {}
    return {**gate, "db": db}


def _trivy_reason(stderr: str) -> str:
    if "failed to download vulnerability DB" in stderr or "DB error" in stderr:
        return "trivy could not download its vulnerability database (no registry reachable)"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = next(
        (line for line in lines if "FATAL" in line or "error" in line.lower()), lines[-1] if lines else ""
    )
    return re.sub(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "<address>", reason)[:300] or "trivy failed"


def syft_sbom(image: str, dest: Path) -> dict[str, Any]:
    syft = os.environ.get("SYFT") or shutil.which("syft")
    if not syft:
        return {"status": "not generated", "reason": "syft is not installed"}
    dest.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [syft, "scan", f"docker:{image}", "-q", "-o", f"cyclonedx-json={dest}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0 or not dest.exists():
        return {"status": "not generated", "reason": proc.stderr.strip()[-300:]}
    doc = json.loads(dest.read_text())
    comps = doc.get("components", [])
    kinds: dict[str, int] = {}
    for comp in comps:
        ptype = str(comp.get("purl", "")).split("/", 1)[0].removeprefix("pkg:") or comp.get("type", "?")
        kinds[ptype] = kinds.get(ptype, 0) + 1
    return {
        "status": "generated",
        "path": str(dest.relative_to(REPO)),
        "components": len(comps),
        "by_type": kinds,
    }


# ---------------------------------------------------------------------------------------------
# the full measurement run


def measure(args: argparse.Namespace) -> int:
    checks = Checks()
    report: dict[str, Any] = {
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": git_revision() + (" (+ uncommitted changes)" if _tree_dirty() else ""),
        "version": project_version(),
        "machine": _machine(),
    }
    dockerfile = REPO / "Dockerfile"
    bases, base_note = resolve_bases(args.bases, dockerfile)
    report["bases"] = {"mode": base_note, "args": bases or dockerfile_base_pins(dockerfile)}
    tag = args.tag
    ctx = scratch_context()
    builds: dict[str, Any] = {}
    cold_ns = f"moontv-cold-{RUN_ID}"
    try:
        # cold: no layer cache and fresh (empty) cache mounts; base images already present
        log("cold build (amd64) ...")
        cold = build(
            ctx,
            tag=None,
            bases=bases,
            extra_args={"CACHE_NS": cold_ns},
            no_cache=True,
            load=False,
            save_progress=ARTIFACTS / "progress-cold.json",
        )
        builds["cold_amd64"] = cold.summary()
        log("build (amd64, normal cache) ...")
        base = build(ctx, tag=tag, bases=bases, save_progress=ARTIFACTS / "progress-build.json")
        builds["build_amd64"] = base.summary()
        log("warm rebuild, no change ...")
        builds["warm_no_change"] = build(
            ctx, tag=tag, bases=bases, save_progress=ARTIFACTS / "progress-nochange.json"
        ).summary()
        builds["warm_source_change"] = {"change": touch_source(ctx)}
        log("warm rebuild, source change ...")
        builds["warm_source_change"].update(
            build(
                ctx, tag=f"{tag}-src", bases=bases, save_progress=ARTIFACTS / "progress-source.json"
            ).summary()
        )
        builds["warm_dependency_change"] = {"change": change_dependency(ctx)}
        log("warm rebuild, dependency change ...")
        builds["warm_dependency_change"].update(
            build(
                ctx, tag=f"{tag}-deps", bases=bases, save_progress=ARTIFACTS / "progress-deps.json"
            ).summary()
        )
        for t in (f"{tag}-src", f"{tag}-deps"):
            docker("image", "rm", t, check=False)
        dep_stages = ("[system-base ", "[py-reqs ", "[py-deps ", "[py-deps-native ", "[web-assets ")
        dep_steps = [s for s in builds["warm_source_change"]["executed"] if s.startswith(dep_stages)]
        checks.record(
            "source change keeps dependency layers cached",
            not dep_steps,
            "; ".join(dep_steps) or "py-deps, web-assets cached",
        )
        checks.record(
            "no-change rebuild is fully cached",
            builds["warm_no_change"]["cached_ratio"] == 1.0,
            f"{builds['warm_no_change']['cached_steps']}/{builds['warm_no_change']['steps']}",
        )
        if args.multiarch:
            log("multi-arch build (cold) ...")
            cold_multi = build(
                REPO,
                tag=None,
                platforms=PLATFORMS,
                bases=bases,
                load=False,
                no_cache=True,
                extra_args={"CACHE_NS": cold_ns + "-multi"},
                save_progress=ARTIFACTS / "progress-cold-multi.json",
            )
            builds["cold_multiarch"] = cold_multi.summary()
    except OpsError as exc:
        checks.record("image build", False, str(exc)[:800])
        report["builds"] = builds
        return _finish(report, checks, args)
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
    report["builds"] = builds
    report["cold_cache"] = (
        f"new, empty cache mounts of their own (id {cold_ns}-*), left in the build cache afterwards "
        "(nothing is pruned; BuildKit's garbage collection reclaims them)"
    )

    # the image that is measured: the real repository context
    log("building the measured image from the working tree ...")
    try:
        build(REPO, tag=tag, bases=bases, save_progress=ARTIFACTS / "progress-final.json")
    except OpsError as exc:
        checks.record("image build", False, str(exc)[:800])
        return _finish(report, checks, args)
    sizes = checks.guard("image size", lambda: image_platform_sizes(tag)) or {}
    report["size"] = sizes
    log("run checks ...")
    report["run"] = smoke(tag, checks, starts=args.starts)

    if args.multiarch:
        log("multi-arch: one build for both platforms, pushed to a registry ...")
        report["multiarch"] = (
            checks.guard("multi-arch", lambda: multiarch_publish(tag, bases, checks, args.registry)) or {}
        )
    report["scan"] = trivy_scan(tag)
    checks.record(
        "vulnerability gate (fixable HIGH/CRITICAL)",
        report["scan"]["status"] != "fail",
        report["scan"]["status"]
        + (": " + report["scan"].get("reason", "") if report["scan"].get("reason") else ""),
    )
    report["sbom"] = syft_sbom(tag, ARTIFACTS / "sbom.cdx.json")
    return _finish(report, checks, args)


def multiarch_publish(
    tag: str, bases: dict[str, str], checks: Checks, registry: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stats = build(
        REPO, tag=tag, platforms=PLATFORMS, bases=bases, save_progress=ARTIFACTS / "progress-multi.json"
    )
    out["build"] = stats.summary()
    sizes = image_platform_sizes(tag)
    out["size"] = sizes
    checks.record(
        "local image holds linux/amd64 and linux/arm64",
        set(PLATFORMS) <= set(sizes),
        ", ".join(sorted(sizes)),
    )
    foreign = [p for p in PLATFORMS if p != f"linux/{_host_arch()}"]
    out["foreign_runs"] = [
        checks.guard(f"{p} smoke", lambda p=p: smoke_foreign(tag, p, checks)) for p in foreign
    ]

    def publish(reg: str) -> None:
        repo = f"{reg}/moontv"
        tags = release_tags(repo)
        t0 = time.perf_counter()
        build(REPO, tag=",".join(tags), platforms=PLATFORMS, bases=bases, push=True)
        out["push_s"] = round(time.perf_counter() - t0, 2)
        listed = {}
        for t in tags:
            ref = t.rsplit(":", 1)[1]
            doc = registry_manifest(reg, "moontv", ref)
            plats = manifest_platforms(doc)
            listed[ref] = {"mediaType": doc.get("mediaType"), "platforms": plats}
            checks.record(
                f"tag {ref} is a manifest list with both platforms",
                set(PLATFORMS) <= set(plats),
                ", ".join(plats),
            )
        out["registry_tags"] = listed

    if registry == "local":
        with local_registry() as reg:
            publish(reg)
    elif registry:
        publish(registry)
    return out


def _host_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "arch": os.uname().machine,
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
        info["mem_gb"] = round(int(mem) / 1024 / 1024, 1)
    ver = docker("version", "--format", "{{.Server.Version}}", check=False).stdout.strip()
    bx = docker("buildx", "version", check=False).stdout.strip().split(" ")
    info["docker_engine"] = ver
    info["buildx"] = bx[1] if len(bx) > 1 else "?"
    info["storage"] = docker("info", "--format", "{{.Driver}}", check=False).stdout.strip()
    return info


def _finish(report: dict[str, Any], checks: Checks, args: argparse.Namespace) -> int:
    report["checks"] = checks.items
    report["goals"] = evaluate_goals(report)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if args.write_docs:
        (REPO / "docs").mkdir(exist_ok=True)
        (REPO / "docs" / "validation.md").write_text(render_validation(report))
    passed = len(checks.items) - len(checks.failed)
    print(f"ops: {passed} passed, {len(checks.failed)} failed")
    return 1 if checks.failed else 0


def evaluate_goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    values: dict[str, float | None] = {
        "image_mb_amd64": _mb(report.get("size", {}).get("linux/amd64", {}).get("uncompressed")),
        "start_p50_s": report.get("run", {}).get("start_first_200_s", {}).get("p50"),
        "cold_build_s": report.get("builds", {}).get("cold_amd64", {}).get("wall_s"),
        "source_rebuild_s": report.get("builds", {}).get("warm_source_change", {}).get("wall_s"),
        "idle_rss_mb": report.get("run", {}).get("idle_rss_mb"),
        "stop_s": report.get("run", {}).get("stop_s", {}).get("p50"),
    }
    out = []
    for key, (label, op, limit, unit) in GOALS.items():
        value = values.get(key)
        met = value is not None and value <= limit
        out.append(
            {
                "goal": key,
                "label": label,
                "target": f"{op} {limit:g} {unit}",
                "value": value,
                "unit": unit,
                "met": met,
            }
        )
    return out


def _mb(value: Any) -> float | None:
    return round(value / 1e6, 1) if isinstance(value, int) and value > 0 else None


def _short_step(text: str) -> str:
    """'[app 3/3] RUN /opt/build/bin/pip wheel ... (1.7s)' -> 'app 3/3 RUN /opt/build/bin/pip wh… 1.7s'"""
    match = re.match(r"^\[(?:linux/\w+ )?([^\]]+)\] (.*) \(([\d.]+s)\)$", text)
    if not match:
        return text[:60]
    stage, instr, took = match.groups()
    instr = instr if len(instr) <= 34 else instr[:33] + "…"
    return f"{stage} {instr} {took}"


def render_validation(r: dict[str, Any]) -> str:
    m = r.get("machine", {})
    lines = [
        "# Container validation report",
        "",
        "Generated by `python3 scripts/moontv_ops.py measure --write-docs` — every number below comes from that run",  # noqa: E501
        "(raw data: `artifacts/ops/report.json`, BuildKit rawjson logs `artifacts/ops/progress-*.json`). Do not edit by hand.",  # noqa: E501
        "",
        f"- run: {r.get('generated')}, revision `{r.get('revision')}`, version {r.get('version')}",
        f"- machine: {m.get('cpus')} CPUs, {m.get('mem_gb')} GB, {m.get('arch')}, load {m.get('load_avg_1m_at_start', '?')} at start; docker engine {m.get('docker_engine')}, "  # noqa: E501
        f"buildx {m.get('buildx')}, storage `{m.get('storage')}`",
        f"- base images: {r.get('bases', {}).get('mode')}",
        "",
        "## Goals",
        "",
        "| goal | target | measured | |",
        "| --- | --- | --- | --- |",
    ]
    for g in r.get("goals", []):
        value = "—" if g["value"] is None else f"{g['value']} {g['unit']}"
        lines.append(f"| {g['label']} | {g['target']} | {value} | {'met' if g['met'] else '**missed**'} |")
    lines += ["", "## Checks", "", "| check | result | detail |", "| --- | --- | --- |"]
    for c in r.get("checks", []):
        detail = str(c.get("detail", "")).replace("|", "\\|").replace("\n", " ")[:220]
        lines.append(f"| {c['check']} | {'pass' if c['ok'] else '**FAIL**'} | {detail} |")
    sizes = r.get("size", {})
    if sizes:
        lines += [
            "",
            "## Image size",
            "",
            "| platform | uncompressed (files) | compressed (layers) | layers |",
            "| --- | --- | --- | --- |",
        ]
        for plat, s in sorted(sizes.items()):
            lines.append(
                f"| {plat} | {s['uncompressed'] / 1e6:.1f} MB | {s['compressed'] / 1e6:.1f} MB | {s['layers']} |"  # noqa: E501
            )
        amd = sizes.get("linux/amd64", {})
        if amd.get("python_packages_mb"):
            lines += ["", f"Python packages in /opt/venv (amd64): {amd['python_total_mb']} MB; largest:", ""]
            lines.append(", ".join(f"{k} {v} MB" for k, v in amd["python_packages_mb"].items()))
    multi_sizes = r.get("multiarch", {}).get("size", {})
    if multi_sizes:
        lines += ["", "Multi-arch image (one build):", ""]
        for plat, s in sorted(multi_sizes.items()):
            unc = "n/a" if s["uncompressed"] < 0 else f"{s['uncompressed'] / 1e6:.1f} MB"
            lines.append(f"- {plat}: {unc} uncompressed, {s['compressed'] / 1e6:.1f} MB compressed")
    builds = r.get("builds", {})
    if builds:
        lines += [
            "",
            "## Builds",
            "",
            "Cached steps = Dockerfile instructions BuildKit reported `cached: true`, out of all instructions of the build.",  # noqa: E501
            "",
            "| scenario | change | wall time | cached steps | executed (stage, step, instruction, time) |",
            "| --- | --- | --- | --- | --- |",
        ]
        names = {
            "cold_amd64": "cold (amd64): --no-cache, empty cache mounts",
            "build_amd64": "first build with the default cache namespace (amd64)",
            "warm_no_change": "warm, no change",
            "warm_source_change": "warm, source change",
            "warm_dependency_change": "warm, dependency change",
            "cold_multiarch": "cold, linux/amd64 + linux/arm64",
        }
        for key, label in names.items():
            b = builds.get(key)
            if not b:
                continue
            executed = "; ".join(_short_step(x) for x in b.get("executed", [])[:8])
            if len(b.get("executed", [])) > 8:
                executed += f"; … {len(b['executed']) - 8} more"
            lines.append(
                f"| {label} | {b.get('change', '')} | {b['wall_s']} s | {b['cached_steps']}/{b['steps']} ({b['cached_ratio'] * 100:.0f} %) | {executed.replace('|', '/')} |"  # noqa: E501
            )
    if r.get("cold_cache"):
        lines += ["", f"Cold builds: {r['cold_cache']}."]
    run_ = r.get("run", {})
    if run_:
        s = run_.get("start_first_200_s", {})
        lines += [
            "",
            "## Run",
            "",
            f"- docker run → first 200 on /api/health: p50 {s.get('p50')} s, p95 {s.get('p95')} s "
            f"(min {s.get('min')}, max {s.get('max')}, {s.get('runs')} starts)",
            f"- docker run → `healthy` (Docker's own health check, start interval): {run_.get('docker_healthy_s')} s",  # noqa: E501
            f"- idle RSS of the server: {run_.get('idle_rss_mb')} MB (median over the starts)",
            f"- docker stop: p50 {run_.get('stop_s', {}).get('p50')} s, max {run_.get('stop_s', {}).get('max')} s; exit codes {run_.get('stop_exit_codes')}",  # noqa: E501
            f"- negative health test: {run_.get('negative_health')}",
            f"- hardened run: {run_.get('hardened_run')}",
            f"- modules compiled at start: {run_.get('modules_compiled_at_start')}",
            f"- import cost inside the image, ms (cumulative, `python -X importtime`): {run_.get('import_profile_ms')}",  # noqa: E501
        ]
    multi = r.get("multiarch", {})
    if multi:
        lines += ["", "## Multi-arch", ""]
        if multi.get("build"):
            lines.append(f"- one build for {', '.join(PLATFORMS)}: {multi['build']['wall_s']} s (warm cache)")
        if builds.get("cold_multiarch"):
            lines.append(f"- cold multi-arch build: {builds['cold_multiarch']['wall_s']} s")
        for run_f in multi.get("foreign_runs") or []:
            if run_f:
                lines.append(
                    f"- {run_f['platform']} image run under emulation: machine `{run_f['machine']}`, first 200 after {run_f['first_200_s']} s"  # noqa: E501
                )
        for ref, info in (multi.get("registry_tags") or {}).items():
            lines.append(f"- registry tag `{ref}`: {info['mediaType']} with {', '.join(info['platforms'])}")
    scan = r.get("scan", {})
    lines += [
        "",
        "## Vulnerability scan and SBOM",
        "",
        f"- Trivy: **{scan.get('status')}**" + (f" — {scan.get('reason')}" if scan.get("reason") else ""),
    ]
    if scan.get("counts") is not None:
        lines.append(
            f"- findings by severity: {scan.get('counts')}; blocking (fixable HIGH/CRITICAL): {len(scan.get('blocking', []))}"  # noqa: E501
        )
    sbom = r.get("sbom", {})
    lines.append(
        f"- SBOM: {sbom.get('status')}"
        + (
            f", {sbom.get('components')} components {sbom.get('by_type')} (`{sbom.get('path')}`)"
            if sbom.get("components")
            else f" — {sbom.get('reason', '')}"
        )
    )
    extra = r.get("extra_checks")
    if extra:
        lines += ["", "## Other checks of this CI run", ""]
        lines += [f"- {line}" for line in extra]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# commands


def cmd_render(args: argparse.Namespace) -> int:
    """Regenerate docs/validation.md from the last run's artifacts/ops/report.json (no measuring)."""
    report = json.loads((ARTIFACTS / "report.json").read_text())
    (REPO / "docs" / "validation.md").write_text(render_validation(report))
    print("docs/validation.md regenerated from artifacts/ops/report.json")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    bases, note = resolve_bases(args.bases, REPO / "Dockerfile")
    log(f"bases: {note}")
    platforms = tuple(args.platform.split(","))
    stats = build(
        REPO, tag=args.tag, platforms=platforms, bases=bases, save_progress=ARTIFACTS / "progress-build.json"
    )
    print(json.dumps(stats.summary(), indent=2))
    return 0


def cmd_multiarch(args: argparse.Namespace) -> int:
    bases, _ = resolve_bases(args.bases, REPO / "Dockerfile")
    checks = Checks()
    out = multiarch_publish(args.tag, bases, checks, args.registry)
    print(json.dumps(out, indent=2))
    return 1 if checks.failed else 0


def cmd_smoke(args: argparse.Namespace) -> int:
    checks = Checks()
    out = smoke(args.image, checks, starts=args.starts)
    print(json.dumps(out, indent=2))
    print(f"smoke: {len(checks.items) - len(checks.failed)} passed, {len(checks.failed)} failed")
    return 1 if checks.failed else 0


def cmd_scan(args: argparse.Namespace) -> int:
    out = trivy_scan(args.image)
    print(json.dumps(out, indent=2))
    if out["status"] == "not scanned":
        print(f"not scanned: {out.get('reason')}", file=sys.stderr)
        return 3
    return 1 if out["status"] == "fail" else 0


def cmd_gate(args: argparse.Namespace) -> int:
    out = gate_report(json.loads(Path(args.report).read_text()))
    print(json.dumps(out, indent=2))
    return 1 if out["status"] == "fail" else 0


def cmd_sbom(args: argparse.Namespace) -> int:
    out = syft_sbom(args.image, ARTIFACTS / "sbom.cdx.json")
    print(json.dumps(out, indent=2))
    return 0 if out["status"] == "generated" else 3


def cmd_push(args: argparse.Namespace) -> int:
    scan = trivy_scan(args.image)
    if scan["status"] == "fail":
        print(json.dumps(scan, indent=2))
        print("push refused: fixable HIGH/CRITICAL vulnerabilities", file=sys.stderr)
        return 1
    if scan["status"] == "not scanned" and not args.allow_unscanned:
        print(
            f"push refused: image not scanned ({scan.get('reason')}); pass --allow-unscanned to push anyway",
            file=sys.stderr,
        )
        return 3
    bases, _ = resolve_bases(args.bases, REPO / "Dockerfile")
    tags = release_tags(args.registry)
    build(REPO, tag=",".join(tags), platforms=PLATFORMS, bases=bases, push=True)
    for t in tags:
        print(f"pushed {t} ({', '.join(PLATFORMS)})")
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    path = REPO / "Dockerfile"
    text = path.read_text()
    for name, ref in dockerfile_base_pins(path).items():
        name_tag = ref.split("@", 1)[0]
        proc = docker(
            "buildx",
            "imagetools",
            "inspect",
            "--format",
            "{{json .Manifest}}",
            name_tag,
            check=False,
            timeout=60,
        )
        if proc.returncode != 0:
            print(f"{name_tag}: cannot resolve ({proc.stderr.strip()[-200:]})", file=sys.stderr)
            return 3
        digest = json.loads(proc.stdout)["digest"]
        text = text.replace(f"ARG {name}={ref}", f"ARG {name}={name_tag}@{digest}")
        print(f"{name}: {name_tag}@{digest}")
    path.write_text(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="moontv_ops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--bases",
            choices=("auto", "pinned", "local"),
            default="auto",
            help="base images (see resolve_bases)",
        )

    p = sub.add_parser("build", help="build the image (BuildKit, rawjson progress)")
    common(p)
    p.add_argument("--platform", default=f"linux/{_host_arch()}")
    p.add_argument("--tag", default="moontv:dev")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser(
        "multiarch", help="one build for linux/amd64 + linux/arm64; optional push + manifest check"
    )
    common(p)
    p.add_argument("--tag", default="moontv:dev")
    p.add_argument("--registry", help="HOST:PORT to push to, or 'local' for a throw-away local registry")
    p.set_defaults(func=cmd_multiarch)
    p = sub.add_parser("smoke", help="run-time checks of an image")
    p.add_argument("--image", default="moontv:dev")
    p.add_argument("--starts", type=int, default=10)
    p.set_defaults(func=cmd_smoke)
    p = sub.add_parser("measure", help="everything; writes artifacts/ops/report.json")
    common(p)
    p.add_argument("--tag", default="moontv:ci")
    p.add_argument("--starts", type=int, default=10)
    p.add_argument(
        "--multiarch", action="store_true", help="also the multi-arch build, arm64 run, registry push"
    )
    p.add_argument(
        "--registry", default="local", help="registry for the multi-arch push ('local' starts one)"
    )
    p.add_argument("--write-docs", action="store_true", help="regenerate docs/validation.md from this run")
    p.set_defaults(func=measure)
    p = sub.add_parser("render", help="regenerate docs/validation.md from artifacts/ops/report.json")
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("scan", help="Trivy gate: exit 1 on fixable HIGH/CRITICAL, 3 when not scanned")
    p.add_argument("--image", default="moontv:dev")
    p.set_defaults(func=cmd_scan)
    p = sub.add_parser("gate", help="gate a saved Trivy JSON report")
    p.add_argument("report")
    p.set_defaults(func=cmd_gate)
    p = sub.add_parser("sbom", help="CycloneDX SBOM with syft")
    p.add_argument("--image", default="moontv:dev")
    p.set_defaults(func=cmd_sbom)
    p = sub.add_parser("push", help="scan, then build + push every release tag for both platforms")
    common(p)
    p.add_argument("--image", default="moontv:dev", help="the image to scan before pushing")
    p.add_argument("--registry", required=True, help="HOST[:PORT]/REPOSITORY")
    p.add_argument("--allow-unscanned", action="store_true")
    p.set_defaults(func=cmd_push)
    p = sub.add_parser("pin", help="resolve the base images' current digests and pin them in the Dockerfile")
    p.set_defaults(func=cmd_pin)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
