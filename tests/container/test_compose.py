"""compose.yaml and its variants: static rules (engine-free), then the monitoring stack brought up
with `docker compose up --wait`: every Prometheus target up, rules loaded, dashboard queries valid."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid

import pytest

from tests.conftest import REPO
from tests.container.monitoring import dashboard_queries, get, metric_names, query, wait_for

VARIANTS = {"sqlite": [], "redis": ["compose.redis.yaml"], "kvrocks": ["compose.kvrocks.yaml"]}
ENV = {
    "PASSWORD": "compose-test",
    "REDIS_PASSWORD": "redis-test",
    "KVROCKS_PASSWORD": "kv-test",
    "GRAFANA_ADMIN_PASSWORD": "grafana-test",
    "MOONTV_PUBLISH": "127.0.0.1:0",
    "PROMETHEUS_PUBLISH": "127.0.0.1:0",
    "GRAFANA_PUBLISH": "127.0.0.1:0",
}


def _compose(
    docker_bin: str,
    files: list[str],
    *args: str,
    env: dict | None = None,
    check: bool = True,
    project: str = "moontv-test",
) -> subprocess.CompletedProcess:
    cmd = [docker_bin, "compose", "-p", project, "-f", "compose.yaml"]
    for f in files:
        cmd += ["-f", f]
    return subprocess.run(
        cmd + list(args),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=check,
        timeout=600,
        env={**os.environ, **ENV, **(env or {})},
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_compose_variant_is_valid_and_locked_down(docker_bin: str, variant: str) -> None:
    proc = _compose(docker_bin, VARIANTS[variant], "--profile", "monitoring", "config", "--format", "json")
    cfg = json.loads(proc.stdout)
    services = cfg["services"]
    app = services["moontv"]
    assert app["environment"]["NEXT_PUBLIC_STORAGE_TYPE"] == variant
    for name, svc in services.items():
        if name in ("moontv", "prometheus", "grafana"):
            for port in svc.get("ports", []):
                assert port.get("host_ip") == "127.0.0.1", (name, port)  # loopback unless the user says so
        else:
            assert not svc.get("ports"), f"{name} publishes a port"
        assert svc.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in svc.get("security_opt", []), name
    if variant == "redis":
        cmd = services["redis"]["command"]
        assert cmd[cmd.index("--appendonly") + 1] == "yes"
        assert cmd[cmd.index("--maxmemory-policy") + 1] == "noeviction"
        assert cmd[cmd.index("--requirepass") + 1] == ENV["REDIS_PASSWORD"]
        assert ":redis-test@redis:6379" in app["environment"]["REDIS_URL"]
    if variant == "kvrocks":
        assert "--requirepass" in services["kvrocks"]["command"]
        assert app["environment"]["KVROCKS_URL"].endswith("@kvrocks:6666/0")
    # a missing password is refused, not defaulted
    bad = _compose(docker_bin, VARIANTS[variant], "config", env={"PASSWORD": ""}, check=False)
    assert bad.returncode != 0 and "PASSWORD" in bad.stderr


@pytest.mark.parametrize("backend", ["compose.redis.yaml", "compose.kvrocks.yaml"])
def test_scale_variant_publishes_only_the_load_balancer(docker_bin: str, backend: str) -> None:
    proc = _compose(docker_bin, [backend, "compose.scale.yaml"], "config", "--format", "json")
    services = json.loads(proc.stdout)["services"]
    app, lb = services["moontv"], services["lb"]
    assert not app.get("ports")  # N replicas cannot share a host port: only the LB publishes
    assert [p.get("host_ip") for p in lb["ports"]] == ["127.0.0.1"]
    assert float(app["environment"]["MOONTV_DRAIN_SECONDS"]) > 0
    assert lb["depends_on"]["moontv"]["condition"] == "service_healthy"
    assert lb["cap_drop"] == ["ALL"] and lb["read_only"] is True


def test_monitoring_stack_up(docker_bin: str, moontv_image: str) -> None:
    project = f"moontv-test-{uuid.uuid4().hex[:6]}"
    files = VARIANTS["redis"]
    services = [
        "moontv",
        "redis",
        "prometheus",
        "node-exporter",
        "redis-exporter",
    ]  # Grafana: not installable here
    env = {"MOONTV_IMAGE": moontv_image}
    try:
        up = _compose(
            docker_bin,
            files,
            "--profile",
            "monitoring",
            "up",
            "-d",
            "--wait",
            "--no-build",
            *services,
            env=env,
            project=project,
            check=False,
        )
        assert up.returncode == 0, up.stdout + up.stderr
        port = _compose(
            docker_bin, files, "port", "prometheus", "9090", env=env, project=project
        ).stdout.strip()
        app = _compose(docker_bin, files, "port", "moontv", "3000", env=env, project=project).stdout.strip()
        prom = f"http://{port}"
        # traffic through the app on Redis, spread over scrapes
        for _ in range(6):
            with urllib.request.urlopen(f"http://{app}/api/ready", timeout=5) as response:
                assert response.status == 200
            time.sleep(1)
        deadline = time.monotonic() + 60
        while True:
            targets = get(prom, "/api/v1/targets")["activeTargets"]
            health = {t["labels"]["job"]: t["health"] for t in targets}
            if set(health) == {"prometheus", "moontv", "node", "redis"} and set(health.values()) == {"up"}:
                break
            assert time.monotonic() < deadline, health
            time.sleep(1)
        assert wait_for(prom, "redis_up == 1")
        assert wait_for(prom, 'moontv_ready{job="moontv"} == 1')
        rules = get(prom, "/api/v1/rules")["groups"]
        assert sum(len(g["rules"]) for g in rules) >= 5
        assert all(r["health"] == "ok" for g in rules for r in g["rules"])
        names = set(get(prom, "/api/v1/label/__name__/values"))
        for title, expr in dashboard_queries():
            assert query(prom, expr).get("status") == "success", title
            for name in metric_names(expr):
                if name.startswith("redis_"):
                    assert name in names, f"{title}: {name}"
        storage = query(prom, 'count(moontv_storage_operation_duration_seconds_count{backend="redis"})')
        assert storage["data"]["result"], "the app does not report Redis storage latency"
    finally:
        _compose(
            docker_bin,
            files,
            "--profile",
            "monitoring",
            "down",
            "-v",
            "--remove-orphans",
            env=env,
            project=project,
            check=False,
        )
