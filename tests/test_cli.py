"""The ``moontv`` command line, run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.admin.test_validity_and_refresh import _titles
from tests.conftest import free_port
from tests.support import LiveServer, settings_for, write_config

ENV_KEYS = ("PASSWORD", "USERNAME", "PORT", "HOSTNAME", "NEXT_PUBLIC_STORAGE_TYPE", "REDIS_URL")


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ENV_KEYS and not k.startswith("MOONTV_")}
    return subprocess.run(
        [sys.executable, "-m", "moontv", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_config_validate(tmp_path: Path) -> None:
    good = write_config(
        tmp_path / "good.json",
        {"a": "https://cms.example.com/api.php/provide/vod"},
        custom_category=[{"name": "热门", "type": "movie", "query": "热门"}],
    )
    result = run_cli("config", "validate", str(good))
    assert result.returncode == 0 and "OK (1 sources, 1 custom categories" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"api_site": {"x": {"api": "ftp://nope", "name": "X"}}}))
    result = run_cli("config", "validate", str(bad))
    assert result.returncode == 1 and "api_site.x.api" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert "invalid JSON" in run_cli("config", "validate", str(broken)).stderr
    assert run_cli("config", "validate", str(tmp_path / "missing.json")).returncode == 1


def test_serve_refuses_bad_settings_and_config(tmp_path: Path) -> None:
    result = run_cli("serve", "--data-dir", str(tmp_path), env={"PORT": "abc", "PASSWORD": "x"})
    assert result.returncode == 2 and "invalid setting PORT" in result.stderr
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"cache_time": -1}))
    result = run_cli("serve", "--config", str(bad), "--data-dir", str(tmp_path), env={"PASSWORD": "x"})
    assert result.returncode == 2 and "cache_time" in result.stderr
    result = run_cli("serve", env={"PASSWORD": "x", "NEXT_PUBLIC_STORAGE_TYPE": "redis"})
    assert result.returncode == 2 and "REDIS_URL" in result.stderr


def test_user_commands_then_login(tmp_path: Path) -> None:
    write_config(tmp_path / "config.json", {})
    common = ["--config", str(tmp_path / "config.json"), "--data-dir", str(tmp_path / "data")]
    added = run_cli("user", "add", "frank", "--password-stdin", "--admin", *common, stdin="pw1\n")
    assert added.returncode == 0, added.stderr
    again = run_cli("user", "add", "frank", "--password-stdin", *common, stdin="pw1\n")
    assert again.returncode == 1 and "用户已存在" in again.stderr
    listing = run_cli("user", "list", *common)
    lines = {line.split()[0]: line.split()[1] for line in listing.stdout.splitlines()[1:]}
    assert lines == {"admin": "owner", "frank": "admin"}
    changed = run_cli("user", "passwd", "frank", "--password-stdin", *common, stdin="pw2\n")
    assert changed.returncode == 0, changed.stderr
    assert run_cli("user", "passwd", "ghost", "--password-stdin", *common, stdin="x\n").returncode == 1
    server = LiveServer(settings_for(tmp_path)).start()
    try:
        with server.client() as client:
            assert client.post("/api/login", json={"username": "frank", "password": "pw1"}).status_code == 401
            ok = client.post("/api/login", json={"username": "frank", "password": "pw2"})
            assert ok.status_code == 200 and ok.json()["role"] == "admin"
    finally:
        server.stop()


def test_healthcheck(tmp_path: Path) -> None:
    write_config(tmp_path / "config.json", {})
    server = LiveServer(settings_for(tmp_path)).start()
    try:
        assert run_cli("healthcheck", "--port", str(server.port)).returncode == 0
        assert run_cli("healthcheck", env={"PORT": str(server.port)}).returncode == 0
    finally:
        server.stop()
    down = run_cli("healthcheck", "--port", str(free_port()))
    assert down.returncode == 1 and "unhealthy" in down.stderr


def test_sources_check_reports_each_source(tmp_path: Path, fake_cms_factory, stream_host: str) -> None:
    """The admin validity check from the command line: a source counts as good only when one of its
    playlists and that playlist's first segment load."""
    good, bad = fake_cms_factory(_titles(f"{stream_host}/hls/index.m3u8")), fake_cms_factory(fault="500")
    write_config(tmp_path / "config.json", {"good": good.base_url, "bad": bad.base_url})
    result = run_cli(
        "sources",
        "check",
        "--query",
        "星",
        "--progress",
        "--config",
        str(tmp_path / "config.json"),
        "--data-dir",
        str(tmp_path / "data"),
        env={"MOONTV_ALLOW_PRIVATE_UPSTREAMS": "127.0.0.1/32"},  # the same SSRF guard as the admin check
    )
    assert result.returncode == 1
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:-1]}
    assert rows == {"good": "ok", "bad": "failed"}
    assert "1/2 sources answered" in result.stdout
    assert "2/2" in result.stderr  # the progress bar reached the end


def test_empty_site_says_so_until_sources_add(tmp_path: Path, fake_cms_factory) -> None:
    """A newcomer's first run: the search explains the empty site; `moontv sources add` fixes it."""
    cms = fake_cms_factory()
    write_config(tmp_path / "config.json", {})
    common = ["--config", str(tmp_path / "config.json"), "--data-dir", str(tmp_path / "data")]
    server = LiveServer(settings_for(tmp_path)).start()
    try:
        client = server.login()
        empty = client.get("/api/search", params={"q": "流浪星球"}).json()
        assert empty["results"] == [] and empty["notice"] == "no_sources"
        assert "moontv sources add" in empty["message"] and "/admin" in empty["message"]
        assert 'id="no-sources-hint"' in client.get("/search").text  # the owner is told how to add one
        assert 'id="no-sources-hint"' in client.get("/admin").text
    finally:
        server.stop()
    added = run_cli("sources", "add", "Fake CMS", cms.base_url, *common)
    assert added.returncode == 0, added.stderr
    assert "source 127.0.0.1 added" in added.stdout  # a name with a blank: the key is the API's host
    twice = run_cli("sources", "add", "Fake CMS", cms.base_url, *common)
    assert twice.returncode == 1 and "该源已存在" in twice.stderr
    bad = run_cli("sources", "add", "x", "ftp://example.com/api", "--key", "x", *common)
    assert bad.returncode == 1 and "http(s)" in bad.stderr
    server = LiveServer(settings_for(tmp_path)).start()
    try:
        owner = server.login()
        found = owner.get("/api/search", params={"q": "流浪星球"}).json()
        assert found["results"] and "notice" not in found
        assert "no-sources-hint" not in owner.get("/search").text + owner.get("/admin").text
        assert {r["source"] for r in found["results"]} == {"127.0.0.1"}
    finally:
        server.stop()


def test_serve_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    write_config(tmp_path / "config.json", {})
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS and not k.startswith("MOONTV_")}
    env.update({"PASSWORD": "x", "PORT": str(port), "MOONTV_LOG_FORMAT": "json"})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "moontv",
            "serve",
            "--config",
            str(tmp_path / "config.json"),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise AssertionError("server did not come up")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [r["msg"] for r in records]
    assert any("ready" in m for m in messages) and any("stopped" in m for m in messages)
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)


def test_sigterm_drains_readiness_first_and_finishes_in_flight(tmp_path: Path, fake_cms_factory) -> None:
    """Readiness turns 503 at SIGTERM while requests are still served; a request in flight when the
    drain ends still gets its answer; then the process exits 0."""
    import threading

    slow = fake_cms_factory(delay=5)  # longer than the drain: the search is in flight when it ends
    write_config(tmp_path / "config.json", {"slow": slow.base_url})
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS and not k.startswith("MOONTV_")}
    env.update({"PASSWORD": "x", "PORT": str(port), "MOONTV_DRAIN_SECONDS": "3",
                "MOONTV_SHUTDOWN_GRACE": "10", "MOONTV_ALLOW_PRIVATE_UPSTREAMS": "127.0.0.1/32"})  # fmt: skip
    cmd = [sys.executable, "-m", "moontv", "serve", "--config", str(tmp_path / "config.json"),
           "--data-dir", str(tmp_path / "data")]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "server did not come up"
            try:
                if httpx.get(f"{url}/api/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        client = httpx.Client(base_url=url, timeout=30)
        assert client.post("/api/login", json={"password": "x"}).status_code == 200
        answers: list[httpx.Response] = []
        search = threading.Thread(target=lambda: answers.append(client.get("/api/search?q=流浪星球")))
        search.start()
        deadline = time.monotonic() + 30
        while not slow.requests:  # the search waits on the slow upstream
            assert time.monotonic() < deadline and search.is_alive(), "the search never reached the upstream"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        while (ready := httpx.get(f"{url}/api/ready", timeout=2).status_code) == 200:
            assert time.monotonic() < deadline, "readiness never turned 503"
            time.sleep(0.02)
        assert ready == 503
        assert httpx.get(f"{url}/api/health", timeout=2).status_code == 200  # still serving
        search.join(timeout=20)
        assert answers and answers[0].status_code == 200 and answers[0].json()["results"]
        proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_healthcheck_imports_no_settings_nor_app(tmp_path: Path) -> None:
    """The container HEALTHCHECK runs every second while the server starts: it must stay light."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "moontv", "healthcheck", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "unhealthy" in proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "moontv.cli" in imported
    assert not {"pydantic", "moontv.settings", "moontv.app", "asyncio", "fastapi"} & imported
