"""Alert rules (promtool unit tests) and the Grafana dashboard, every panel's query evaluated against
a live Prometheus that scrapes the real app (Grafana itself cannot be installed on this machine)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
import yaml

from tests.conftest import REPO, free_port
from tests.container.monitoring import (
    DASHBOARD,
    dashboard_queries,
    get,
    metric_names,
    prometheus,
    query,
    wait_for,
)
from tests.support import LiveServer, settings_for, write_config

PROM = REPO / "deploy" / "prometheus"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed (apt-get install prometheus; listed in scripts/apt-test-packages.txt)"
        )
    return path


def test_prometheus_config_and_alert_rules() -> None:
    promtool = _promtool()
    for args in (
        ["check", "config", "--syntax-only", str(PROM / "prometheus.yml")],
        ["check", "rules", str(PROM / "rules" / "moontv.yml")],
        ["test", "rules", str(PROM / "tests" / "moontv_test.yml")],
    ):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = yaml.safe_load((PROM / "rules" / "moontv.yml").read_text())["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    # the five the deployment promises, each unit-tested in deploy/prometheus/tests/moontv_test.yml
    assert {
        "MoonTVDown",
        "MoonTVNotReady",
        "MoonTVSearchErrorRatio",
        "MoonTVSourceDown",
        "MoonTVHighLatency",
    } <= names
    tested = (PROM / "tests" / "moontv_test.yml").read_text()
    assert all(f"alertname: {name}" in tested for name in names), "every alert has a promtool unit test"


def test_promtool_unit_tests_can_fail(tmp_path) -> None:
    """Guard against vacuous rule tests: a rule file with MoonTVDown removed must fail them."""
    promtool = _promtool()
    rules = yaml.safe_load((PROM / "rules" / "moontv.yml").read_text())
    rules["groups"][0]["rules"] = [r for r in rules["groups"][0]["rules"] if r["alert"] != "MoonTVDown"]
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "moontv.yml").write_text(yaml.safe_dump(rules))
    (tmp_path / "tests").mkdir()
    shutil.copy(PROM / "tests" / "moontv_test.yml", tmp_path / "tests" / "moontv_test.yml")
    proc = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "tests" / "moontv_test.yml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0


def test_grafana_provisioning_files() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "moontv-overview"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("requests", "latency", "source health", "cache hit", "storage latency"):
        assert topic in titles
    datasource = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    uid = datasource["datasources"][0]["uid"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid
        assert all(t["datasource"]["uid"] == uid for t in panel["targets"])
    provider = yaml.safe_load((REPO / "deploy/grafana/provisioning/dashboards/moontv.yaml").read_text())
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in mounts


@pytest.fixture
def storage_kind() -> str:
    return "sqlite"


def test_dashboard_queries_against_live_prometheus(tmp_path, fake_cms_factory) -> None:
    good, bad = fake_cms_factory(), fake_cms_factory(fault="500")
    write_config(tmp_path / "config.json", {"good": good.base_url, "bad": bad.base_url})
    metrics_port = free_port()  # scraped like compose/Helm do: the unpublished metrics listener
    server = LiveServer(settings_for(tmp_path, metrics_port=metrics_port)).start()
    try:
        with prometheus({"moontv": f"127.0.0.1:{metrics_port}"}) as prom:
            assert wait_for(prom, 'up{job="moontv"} == 1'), "prometheus never scraped the app"
            client = server.login()
            for _ in range(8):  # the failing source trips its circuit breaker after 5 errors
                time.sleep(0.4)  # traffic spread over several scrapes, so rate() sees it grow
                assert client.get("/api/search", params={"q": "流浪星球"}).status_code == 200
                assert client.get("/api/search", params={"q": f"x{time.monotonic()}"}).status_code == 200
            record = {
                "title": "t",
                "source_name": "s",
                "cover": "",
                "year": "2024",
                "index": 1,
                "total_episodes": 1,
                "play_time": 1,
                "total_time": 2,
                "save_time": 1,
                "search_title": "",
            }
            assert (
                client.post("/api/playrecords", json={"key": "good+1", "record": record}).status_code == 200
            )
            assert client.get("/api/ready").status_code == 200
            client.close()
            wait_for(prom, 'count_over_time(up{job="moontv"}[1m]) >= 4')
            names = set(get(prom, "/api/v1/label/__name__/values"))
            failures = []
            for title, expr in dashboard_queries():
                result = query(prom, expr)
                if result.get("status") != "success":
                    failures.append(f"{title}: {result.get('error')}")
                for name in metric_names(expr):
                    if name.startswith("redis_"):
                        continue  # redis-exporter's metrics; checked in the compose test
                    if name not in names:
                        failures.append(f"{title}: metric {name} does not exist")
            assert not failures, "\n".join(failures)
            # the panels show real data for this traffic
            assert wait_for(
                prom, 'sum by (route) (rate(moontv_http_requests_total{route="/api/search"}[1m])) > 0'
            )
            health = {
                r["metric"]["source"]: r["value"][1]
                for r in query(prom, "max by (source) (moontv_source_circuit_state)")["data"]["result"]
            }
            assert health.get("bad") == "2" and health.get("good") == "0", health
            hit_ratio = query(
                prom,
                'sum(rate(moontv_cache_lookups_total{result="hit"}[1m])) / sum(rate(moontv_cache_lookups_total[1m]))',  # noqa: E501
            )
            assert hit_ratio["data"]["result"], "cache hit ratio panel is empty"
            rules = get(prom, "/api/v1/rules")["groups"]
            assert rules and all(r["health"] == "ok" for g in rules for r in g["rules"]), rules
            firing = {r["name"] for g in rules for r in g["rules"] if r.get("state") == "firing"}
            assert "MoonTVDown" not in firing
    finally:
        server.stop()
