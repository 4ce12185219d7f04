"""Registries: manifests, release tags, a throw-away local registry, the multi-arch publish."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .buildkit import build
from .common import (
    ARTIFACTS,
    PLATFORMS,
    REPO,
    Checks,
    OpsError,
    free_port,
    git_revision,
    host_arch,
    http_status,
    project_version,
)
from .containers import image_platform_sizes
from .smoke import smoke_foreign


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


class LocalRegistry:
    """Debian's docker-registry on 127.0.0.1 (a stand-in for a real registry in CI): storage of its
    own for each run, its log kept so a failed push can show the registry's side."""

    def __init__(self, address: str, log_path: Path) -> None:
        self.address = address
        self.log_path = log_path

    def errors(self, limit: int = 12) -> list[str]:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [line[-300:] for line in lines if "level=error" in line or "panic" in line][-limit:]


@contextlib.contextmanager
def local_registry() -> Iterator[LocalRegistry]:
    binary = shutil.which("docker-registry")
    if binary is None:
        raise OpsError("docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="moontv-registry-"))
    config = tmp / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: "
        f"{tmp / 'data'}\n  maintenance:\n    uploadpurging:\n      enabled: false\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log_path = tmp / "registry.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while http_status(f"http://127.0.0.1:{port}/v2/") != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-800:]
                raise OpsError(f"local registry did not start: {tail}")
            time.sleep(0.1)
        yield LocalRegistry(f"127.0.0.1:{port}", log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def push_tags(
    tags: list[str], bases: dict[str, str], registry: LocalRegistry | None = None
) -> dict[str, float]:
    """Push the multi-platform image under each tag, one tag after another. One `buildx --push`
    with several tags PUTs the same manifest list to one repository concurrently; Debian's
    docker-registry (filesystem storage) then answers a concurrent HEAD of a tag with 500 "invalid
    checksum digest format" (it reads a link file while another request rewrites it). Sequential
    pushes never overlap; the second and later tags are cached builds that upload no layers."""
    seconds: dict[str, float] = {}
    for tag in tags:
        t0 = time.perf_counter()
        try:
            build(REPO, tag=tag, platforms=PLATFORMS, bases=bases, push=True)
        except OpsError as exc:
            side = registry.errors() if registry else []
            raise OpsError(
                f"push of {tag} failed: {exc}" + (f"; registry log: {side}" if side else "")
            ) from exc
        seconds[tag.rsplit(":", 1)[1]] = round(time.perf_counter() - t0, 2)
    return seconds


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
    foreign = [p for p in PLATFORMS if p != f"linux/{host_arch()}"]
    out["foreign_runs"] = [
        checks.guard(f"{p} smoke", lambda p=p: smoke_foreign(tag, p, checks)) for p in foreign
    ]

    def publish(reg: str, local: LocalRegistry | None = None) -> None:
        tags = release_tags(f"{reg}/moontv")
        t0 = time.perf_counter()
        out["push_s_per_tag"] = push_tags(tags, bases, local)
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
        with local_registry() as local:
            publish(local.address, local)
    elif registry:
        publish(registry)
    return out
