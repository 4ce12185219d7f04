"""The built image itself: configuration, no shell, arbitrary uid on a read-only root, SIGTERM."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.conftest import free_port
from tests.container.ops import ops
from tests.container.workload import exercise, write_site_config


def _config(docker_bin: str, image: str) -> dict:
    out = subprocess.run([docker_bin, "image", "inspect", image], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]["Config"]


def test_image_configuration(docker_bin: str, moontv_image: str) -> None:
    cfg = _config(docker_bin, moontv_image)
    assert cfg["User"] == "1001:1001"
    assert cfg["Entrypoint"] == ["/opt/venv/bin/moontv"] and cfg["Cmd"] == ["serve"]
    assert cfg["Healthcheck"]["Test"] == ["CMD", "/opt/venv/bin/moontv", "healthcheck"]
    assert 0 < cfg["Healthcheck"]["StartInterval"] <= 2_000_000_000
    env = dict(e.split("=", 1) for e in cfg["Env"])
    assert env["MOONTV_HOST"] == "0.0.0.0" and env["MOONTV_DATA_DIR"] == "/data"
    assert "/data" in cfg["Volumes"]


def test_no_shell_and_python_matches_the_builder(docker_bin: str, moontv_image: str) -> None:
    for shell in ("/bin/sh", "/bin/bash", "/usr/bin/dash"):
        proc = subprocess.run(
            [docker_bin, "run", "--rm", "--network", "none", "--entrypoint", shell, moontv_image],
            capture_output=True,
            text=True,
        )
        assert proc.returncode != 0 and "no such file" in proc.stderr.lower()
    proc = subprocess.run(
        [
            docker_bin,
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "/opt/venv/bin/python",
            moontv_image,
            "-c",
            "import sys, moontv; print(sys.version_info[:2], sys.prefix)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "(3, 11) /opt/venv"


def test_arbitrary_uid_read_only_root_and_graceful_stop(docker_bin: str, moontv_image: str) -> None:
    c, t0 = ops.start_container(
        moontv_image,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        "54321:54321",
        "--tmpfs",
        "/tmp:size=8m",
    )
    try:
        ops.wait_first_200(c, t0, limit=60)
        assert ops.http_status(f"{c.url}/api/ready") == 200  # SQLite opened in the anonymous /data volume
        token = ops.login(c.url)
        assert token
        pid = c.pid()
        assert ops.proc_uid(pid) == 54321
        start = time.perf_counter()
        subprocess.run([docker_bin, "stop", "-t", "10", c.cid], check=True, capture_output=True)
        took = time.perf_counter() - start
        state = c.inspect()["State"]
        assert state["ExitCode"] == 0, state  # SIGTERM handled: not 137 (SIGKILL)
        assert took < 10
    finally:
        c.remove()


def test_healthcheck_command_reports_a_dead_server(docker_bin: str, moontv_image: str) -> None:
    """`moontv healthcheck` exits 1 when nothing listens: the HEALTHCHECK can fail."""
    proc = subprocess.run(
        [docker_bin, "run", "--rm", "--network", "none", moontv_image, "healthcheck"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "unhealthy" in proc.stderr


def test_every_feature_works_on_the_slimmed_runtime(
    docker_bin: str, moontv_image: str, tmp_path: Path, fake_cms_factory, stream_host
) -> None:  # type: ignore[no-untyped-def]
    """The image's runtime root lacks what deploy/docker/runtime_root.py drops: every module of the
    app imports there, and a search, a detail, an HLS relay, a play record, the pages and every
    parameterless GET route work against upstreams on this machine (host network)."""
    modules = subprocess.run(
        [
            docker_bin,
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "/opt/venv/bin/python",
            moontv_image,
            "-c",
            IMPORT_EVERY_MODULE,
        ],
        capture_output=True,
        text=True,
    )
    assert modules.returncode == 0, modules.stderr[-2000:]
    assert int(modules.stdout.strip()) > 100

    cms = fake_cms_factory()
    port = free_port()
    config = write_site_config(tmp_path / "config.json", cms.base_url)
    config.chmod(0o644)
    cid = subprocess.run(
        [
            docker_bin,
            "run",
            "-d",
            "--network",
            "host",
            "--label",
            ops.common.LABEL,
            "-e",
            "PASSWORD=image-check",
            "-e",
            "MOONTV_HOST=127.0.0.1",
            "-e",
            f"PORT={port}",
            "-e",
            "MOONTV_ALLOW_PRIVATE_UPSTREAMS=127.0.0.1/32",
            "-v",
            f"{config}:/config/config.json:ro",
            moontv_image,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    container = ops.Container(cid, port)
    try:
        ops.wait_first_200(container, time.perf_counter(), limit=60)
        seen = exercise(container.url, "image-check", stream_host)
        assert len(seen) > 30
        logs = subprocess.run([docker_bin, "logs", cid], capture_output=True, text=True).stderr
        assert "ModuleNotFoundError" not in logs and "ImportError" not in logs, logs[-2000:]
    finally:
        container.remove()


IMPORT_EVERY_MODULE = """
import importlib, pkgutil, moontv
names = [i.name for i in pkgutil.walk_packages(moontv.__path__, "moontv.")]
for name in names:
    if not name.endswith(".__main__"):  # that one runs the command line
        importlib.import_module(name)
print(len(names))
"""
