"""Helpers shared by the monitoring tests: dashboard queries and a throw-away Prometheus."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import REPO, free_port

DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "moontv.json"
RULES = REPO / "deploy" / "prometheus" / "rules" / "moontv.yml"
# Grafana's built-in variables and the dashboard's own ($instance = All) as Prometheus sees them
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "10s", "$__range": "5m", "$instance": ".*"}


def dashboard_queries(path: Path = DASHBOARD) -> list[tuple[str, str]]:
    """(panel title, PromQL with Grafana variables substituted) for every panel target."""
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in GRAFANA_VARS.items():
                expr = expr.replace(name, value)
            assert "$" not in expr, f"unknown variable left in {panel['title']}: {expr}"
            out.append((panel["title"], expr))
    return out


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (identifiers before a selector or a range)."""
    names = set(re.findall(r"\b([a-z_:][a-z0-9_:]*)\s*(?=\{|\[)", expr))
    functions = {"rate", "sum", "max", "min", "histogram_quantile", "by", "absent", "irate", "increase"}
    return {n for n in names if n not in functions}


def query(base: str, promql: str) -> dict[str, Any]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return json.loads(response.read())["data"]


@contextmanager
def prometheus(targets: dict[str, str], *, rules: Path | None = RULES, interval: str = "1s") -> Iterator[str]:
    """Debian's prometheus binary on 127.0.0.1 scraping the given jobs ({job: host:port})."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus is not installed (apt-get install prometheus)")
    work = Path(tempfile.mkdtemp(prefix="prom-"))
    jobs = "".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        for job, target in targets.items()
    )
    rule_line = f"rule_files:\n  - {rules}\n" if rules else ""
    config = work / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n{rule_line}scrape_configs:\n{jobs}"  # noqa: E501
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/ready", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("prometheus did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def wait_for(base: str, promql: str, limit: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + limit
    while True:
        result = query(base, promql)
        data = result.get("data", {}).get("result", [])
        if data or time.monotonic() > deadline:
            return data
        time.sleep(0.25)
