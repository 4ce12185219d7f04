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
import json
import sys
from pathlib import Path

from .buildkit import build, dockerfile_base_pins, resolve_bases
from .common import ARTIFACTS, PLATFORMS, REPO, Checks, OpsError, docker, host_arch, log
from .measure import measure
from .registry import multiarch_publish, push_tags, release_tags
from .report import render_validation
from .scan import gate_report, syft_sbom, trivy_scan
from .smoke import smoke


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
    for t, seconds in zip(tags, push_tags(tags, bases).values(), strict=True):
        print(f"pushed {t} ({', '.join(PLATFORMS)}) in {seconds:.1f}s")
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
    p.add_argument("--platform", default=f"linux/{host_arch()}")
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
