"""The container build tool behind scripts/moontv_ops.py: build, measure, scan and publish the image.

Modules: common (constants, helpers, Checks), buildkit (builds, rawjson progress), containers (image
inspection, running containers), smoke (run-time checks), registry (manifests, local registry,
sequential multi-arch push), scan (Trivy gate, SBOM), report (goals, docs/validation.md), measure (the
full run), cli (the commands)."""

from .buildkit import BuildStats, Step, build, parse_rawjson, resolve_bases
from .cli import main
from .common import Checks, OpsError, free_port, http_status, percentile
from .containers import Container, start_container, wait_first_200, wait_health
from .registry import local_registry, manifest_platforms, multiarch_publish, push_tags, release_tags
from .report import evaluate_goals, render_validation
from .scan import gate_report, syft_sbom, trivy_scan
from .smoke import login, proc_uid, smoke, smoke_foreign

__all__ = [
    "BuildStats",
    "Checks",
    "Container",
    "OpsError",
    "Step",
    "build",
    "evaluate_goals",
    "free_port",
    "gate_report",
    "http_status",
    "local_registry",
    "login",
    "main",
    "manifest_platforms",
    "multiarch_publish",
    "parse_rawjson",
    "percentile",
    "proc_uid",
    "push_tags",
    "release_tags",
    "render_validation",
    "resolve_bases",
    "smoke",
    "smoke_foreign",
    "start_container",
    "syft_sbom",
    "trivy_scan",
    "wait_first_200",
    "wait_health",
]
