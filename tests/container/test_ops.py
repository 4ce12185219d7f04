"""The build tool's logic that needs no engine: BuildKit rawjson parsing, the vulnerability gate
(on a report in Trivy's JSON format), the "not scanned" path, goals and the generated report."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.container.ops import ops

registry_module = sys.modules["ops.registry"]

FIXTURES = Path(__file__).parent / "fixtures"


def test_rawjson_of_a_source_change_rebuild() -> None:
    """A recorded `--progress=rawjson` log of a rebuild after editing src/: dependency stages cached."""
    steps = ops.parse_rawjson((FIXTURES / "rawjson-source-change.json").read_text())
    stats = ops.BuildStats(5.0, steps)
    summary = stats.summary()
    names = {s.name: s for s in stats.instructions}
    deps = [
        s
        for n, s in names.items()
        if n.startswith(("[py-deps ", "[py-deps-native ", "[web-assets ", "[system-base "))
    ]
    assert deps and all(s.cached for s in deps)
    app = [s for n, s in names.items() if n.startswith("[app 3/3] RUN")]
    assert len(app) == 1 and not app[0].cached and app[0].seconds > 0
    assert not any("] FROM " in n for n in names)  # base image resolution is not a build step
    assert 0 < summary["cached_ratio"] < 1
    assert summary["steps"] == summary["cached_steps"] + len(summary["executed"])


def test_rawjson_tolerates_client_lines_and_merges_updates() -> None:
    text = (
        "WARNING: something the client printed\n"
        '{"vertexes": [{"digest": "sha256:a", "name": "[app 1/2] RUN make"}]}\n'
        '{"vertexes": [{"digest": "sha256:a", "name": "[app 1/2] RUN make", '
        '"started": "2026-01-01T00:00:00.5Z", "completed": "2026-01-01T00:00:02.25Z"}]}\n'
        '{"vertexes": [{"digest": "sha256:b", "name": "[app 2/2] COPY x y", "cached": true}]}'
    )
    steps = {s.digest: s for s in ops.parse_rawjson(text)}
    assert steps["sha256:a"].seconds == 1.75 and not steps["sha256:a"].cached
    assert steps["sha256:b"].cached
    assert ops.BuildStats(2, list(steps.values())).cached_ratio == 0.5


def test_gate_blocks_fixable_high_and_critical_only() -> None:
    report = json.loads((FIXTURES / "trivy-report.json").read_text())
    gate = ops.gate_report(report)
    assert gate["status"] == "fail"
    assert gate["counts"] == {"HIGH": 1, "CRITICAL": 2, "MEDIUM": 1}
    blocked = {line.split()[0] for line in gate["blocking"]}
    assert blocked == {"CVE-2099-0001", "GHSA-xxxx-0004"}  # the unfixed CRITICAL does not block
    for result in report["Results"]:
        result["Vulnerabilities"] = [
            v for v in result.get("Vulnerabilities", []) if v["VulnerabilityID"] not in blocked
        ]
    assert ops.gate_report(report)["status"] == "pass"


def test_gate_command_exit_codes(tmp_path: Path) -> None:
    assert ops.main(["gate", str(FIXTURES / "trivy-report.json")]) == 1
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": []}]}))
    assert ops.main(["gate", str(clean)]) == 0


def test_scan_without_a_database_says_not_scanned(tmp_path: Path, monkeypatch) -> None:
    """What Trivy does offline: it cannot download its DB and exits 1. That is never a pass."""
    fake = tmp_path / "trivy"
    fake.write_text(
        "#!/bin/sh\necho 'FATAL init error: DB error: failed to download vulnerability DB' >&2\nexit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TRIVY", str(fake))
    result = ops.trivy_scan("moontv:any")
    assert result["status"] == "not scanned" and "vulnerability database" in result["reason"]
    assert ops.main(["scan", "--image", "moontv:any"]) == 3
    monkeypatch.setenv("TRIVY", str(tmp_path / "missing"))
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.delenv("TRIVY")
    assert ops.trivy_scan("moontv:any") == {"status": "not scanned", "reason": "trivy is not installed"}


def test_scan_with_findings_fails(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "trivy"
    fake.write_text(
        '#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done\n'
        f'cp {FIXTURES / "trivy-report.json"} "$out"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TRIVY", str(fake))
    result = ops.trivy_scan("moontv:any")
    assert result["status"] == "fail" and len(result["blocking"]) == 2
    assert ops.main(["scan", "--image", "moontv:any"]) == 1


def test_goals_and_generated_report() -> None:
    report = {
        "generated": "2026-01-01 00:00 UTC",
        "revision": "abc",
        "version": "0.1.0",
        "machine": {"cpus": 2, "arch": "x86_64"},
        "size": {"linux/amd64": {"uncompressed": 70_000_000, "compressed": 30_000_000, "layers": 8}},
        "builds": {
            "cold_amd64": {
                "wall_s": 95.0,
                "steps": 30,
                "cached_steps": 0,
                "cached_ratio": 0.0,
                "executed": [],
            }
        },
        "run": {"start_first_200_s": {"p50": 0.8, "p95": 1.2}, "idle_rss_mb": 55.0, "stop_s": {"p50": 0.5}},
        "scan": {"status": "not scanned", "reason": "no DB"},
        "checks": [{"check": "x", "ok": True, "detail": ""}],
    }
    goals = {g["goal"]: g for g in ops.evaluate_goals(report)}
    assert goals["image_mb_amd64"]["met"] and goals["image_mb_amd64"]["value"] == 70.0
    assert not goals["cold_build_s"]["met"]
    assert goals["source_rebuild_s"]["value"] is None and not goals["source_rebuild_s"]["met"]
    report["goals"] = list(goals.values())
    text = ops.render_validation(report)
    assert "**missed**" in text and "Trivy: **not scanned** — no DB" in text
    assert "no vulnerabilities" not in text.lower()


def test_percentile() -> None:
    assert ops.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert ops.percentile([1.0] * 9 + [10.0], 95) > 5


def test_cli_keeps_its_commands() -> None:
    """scripts/moontv_ops.py is a thin entry point over the scripts/ops package."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "moontv_ops.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for command in (
        "build",
        "multiarch",
        "smoke",
        "measure",
        "render",
        "scan",
        "gate",
        "sbom",
        "push",
        "pin",
    ):
        assert command in proc.stdout
    for module in (REPO / "scripts" / "ops").glob("*.py"):
        assert len(module.read_text().splitlines()) <= 500, module.name


def test_release_tags_are_pushed_one_after_another(monkeypatch) -> None:
    """Never several tags in one push: concurrent manifest PUTs to one repository race in the registry."""
    calls: list[tuple[str | None, bool]] = []
    active = 0

    def fake_build(_context, *, tag, platforms, bases, push=False, **_kw):
        nonlocal active
        active += 1
        assert active == 1
        calls.append((tag, push))
        assert set(platforms) == {"linux/amd64", "linux/arm64"}
        active -= 1
        return ops.BuildStats(0.1, [])

    monkeypatch.setattr(registry_module, "build", fake_build)
    tags = ["reg:5000/moontv:1.2.3", "reg:5000/moontv:latest", "reg:5000/moontv:sha-abcdef0"]
    seconds = ops.push_tags(tags, {})
    assert calls == [(t, True) for t in tags]
    assert list(seconds) == ["1.2.3", "latest", "sha-abcdef0"]


def test_failed_push_shows_the_registry_side(monkeypatch, tmp_path: Path) -> None:
    def failing_build(*_a, **_kw):
        raise ops.OpsError("build failed: unexpected status 500")

    monkeypatch.setattr(registry_module, "build", failing_build)
    log = tmp_path / "registry.log"
    log.write_text(
        'time="t" level=info msg="ok"\ntime="t" level=error msg="invalid checksum digest format"\n'
    )
    registry = registry_module.LocalRegistry("127.0.0.1:1", log)
    try:
        ops.push_tags(["127.0.0.1:1/moontv:latest"], {}, registry)
    except ops.OpsError as exc:
        text = str(exc)
    else:
        raise AssertionError("push_tags swallowed the failure")
    assert "moontv:latest" in text and "invalid checksum digest format" in text and "level=info" not in text
