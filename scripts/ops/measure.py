"""The full measurement run: builds, run checks, multi-arch publish, scan, report."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

from .buildkit import (
    build,
    change_dependency,
    dockerfile_base_pins,
    resolve_bases,
    scratch_context,
    touch_source,
)
from .common import (
    ARTIFACTS,
    PLATFORMS,
    REPO,
    RUN_ID,
    Checks,
    OpsError,
    docker,
    git_revision,
    log,
    project_version,
    tree_dirty,
)
from .containers import image_platform_sizes
from .floors import base_slimming
from .registry import multiarch_publish
from .report import evaluate_goals, render_validation
from .scan import syft_sbom, trivy_scan
from .smoke import smoke


def measure(args: argparse.Namespace) -> int:
    checks = Checks()
    report: dict[str, Any] = {
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": git_revision() + (" (+ uncommitted changes)" if tree_dirty() else ""),
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
    runtime_base = bases.get("RUNTIME_IMAGE") or dockerfile_base_pins(dockerfile)["RUNTIME_IMAGE"]
    report["runtime_root"] = checks.guard("runtime root slimming", lambda: base_slimming(runtime_base)) or {}
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
