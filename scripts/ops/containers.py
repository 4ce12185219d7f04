"""Image inspection (sizes per platform, config) and running containers."""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import LABEL, OpsError, docker, free_port, http_status


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
