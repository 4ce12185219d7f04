"""The Helm chart: `helm lint` / `helm template` (helm comes from scripts/get_helm.sh, run by the
test bootstrap on x86_64) and engine-free checks of the chart's values."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO

CHART = REPO / "deploy" / "helm" / "moontv"
GOOD = ["--set", "auth.password=pw", "--set", "storage.url=redis://:pw@redis:6379/0"]


def _values_paths(node: object, prefix: str = "") -> set[str]:
    out = {prefix} if prefix else set()
    if isinstance(node, dict):
        for key, value in node.items():
            out |= _values_paths(value, f"{prefix}.{key}" if prefix else key)
    return out


def test_every_value_a_template_reads_is_defined() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    defined = _values_paths(values)
    used = set()
    for template in (CHART / "templates").iterdir():
        used |= set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", template.read_text()))
    missing = sorted(u for u in used if u not in defined)
    assert not missing, f"templates read undefined values: {missing}"
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "moontv"
    assert values["podSecurityContext"]["runAsUser"] == 1001  # the image's USER
    assert values["securityContext"]["readOnlyRootFilesystem"] is True


def _helm() -> str:
    local = REPO / ".venv" / "bin" / "helm"
    path = str(local) if local.exists() else shutil.which("helm")
    if path is None:
        if os.environ.get("CI") and platform.machine() == "x86_64":
            pytest.fail("helm is missing: scripts/get_helm.sh should have installed it")
        pytest.skip("helm is not installed (run scripts/get_helm.sh)")
    return path


def test_helm_lint_and_template() -> None:
    helm = _helm()
    lint = subprocess.run([helm, "lint", str(CHART), *GOOD], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    out = subprocess.run(
        [
            helm,
            "template",
            "r",
            str(CHART),
            *GOOD,
            "--set",
            "ingress.enabled=true",
            "--set",
            "serviceMonitor.enabled=true",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    docs = {d["kind"]: d for d in yaml.safe_load_all(out) if d}
    assert {
        "Deployment",
        "Service",
        "Secret",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "ServiceMonitor",
    } <= set(docs)
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsUser"] == 1001
    env = {e["name"]: e for e in container["env"]}
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["key"] == "STORAGE_URL"
    assert "replicas" not in docs["Deployment"]["spec"]  # the autoscaler owns it
    # rolling restarts: readiness turns 503 at SIGTERM for the drain, then the grace; the pod's
    # termination period covers both; one pod at a time; replicas spread over nodes; a PDB
    drain, grace = float(env["MOONTV_DRAIN_SECONDS"]["value"]), float(env["MOONTV_SHUTDOWN_GRACE"]["value"])
    assert drain > 0 and pod["terminationGracePeriodSeconds"] > drain + grace
    readiness = container["readinessProbe"]
    # slow probes included: each failed probe may take its timeout on top of the period
    assert (readiness["periodSeconds"] + readiness["timeoutSeconds"]) * readiness["failureThreshold"] < drain
    assert docs["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    spread = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert spread["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert docs["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    validate_manifests(out)
    bad = subprocess.run(
        [helm, "template", "r", str(CHART), "--set", "auth.password=pw", "--set", "storage.type=sqlite"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "one replica" in bad.stderr
    short = subprocess.run(
        [helm, "template", "r", str(CHART), *GOOD, "--set", "terminationGracePeriodSeconds=5"],
        capture_output=True,
        text=True,
    )
    assert short.returncode != 0 and "terminationGracePeriodSeconds" in short.stderr


def validate_manifests(rendered: str) -> None:
    """Every rendered core/apps/policy/autoscaling/networking object against the Kubernetes schemas
    (kubernetes-validate, strict: unknown fields are errors). CRDs (ServiceMonitor) have none there."""
    import kubernetes_validate

    checked = 0
    for doc in yaml.safe_load_all(rendered):
        if not doc or doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
        checked += 1
    assert checked >= 5


def test_schema_validation_catches_a_broken_manifest() -> None:
    import kubernetes_validate

    broken = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "x"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"a": "b"}}, "maxUnavailabel": 1},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30.0", strict=True)
