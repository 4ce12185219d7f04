"""BuildKit: rawjson progress parsing, base images, builds and scratch build contexts."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import BASE_ARGS, DOCKER, REPO, RUN_ID, OpsError, docker, git_revision, project_version


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
