"""Vulnerability gate (Trivy) and SBOM (syft)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .common import REPO

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
