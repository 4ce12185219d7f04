"""Server-side downloads over HTTP: queue, progress over SSE, Range, owner-only files, metrics, and a
download resumed after the server is killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.fakes.fake_cms import make_item
from tests.inprocess import InProcessApp
from tests.streams.upstream import Upstream
from tests.support import LiveServer, write_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def programme_bytes(cdn: Upstream) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(Path(cdn.root or ".").joinpath("clean").glob("seg*.ts")))


def items(cdn: Upstream) -> list[dict[str, Any]]:
    return [
        make_item(
            1,
            "下载测试",
            groups=[("m3u8", [("第1集", f"{cdn.url}/mid.m3u8"), ("第2集", f"{cdn.url}/aesmid.m3u8")])],
        )
    ]


def wait_done(client: httpx.Client, task_id: str, timeout: float = 90) -> dict[str, Any]:
    """Follows the SSE stream until the task is done or failed; returns it."""
    deadline = time.monotonic() + timeout
    seen: list[float] = []
    with client.stream(
        "GET", "/api/downloads/events", headers={"Accept": "text/event-stream"}, timeout=timeout
    ) as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        for line in events.iter_lines():
            assert time.monotonic() < deadline
            if not line.startswith("data: "):
                continue
            task = next(t for t in json.loads(line[6:])["tasks"] if t["id"] == task_id)
            seen.append(task["progress"])
            if task["status"] in ("done", "failed"):
                task["_progress_seen"] = seen
                return task
    raise AssertionError("the event stream ended")


def test_queue_follow_and_fetch_with_range(
    live_app: Callable[..., LiveServer], fake_cms_factory: Any, cdn: Upstream
) -> None:
    cms = fake_cms_factory(items(cdn))
    server = live_app({"dl": cms.base_url}, allow_private_upstreams="127.0.0.1/32")
    owner = server.login()
    owner.post(
        "/api/admin/user", json={"action": "add", "targetUsername": "bob", "targetPassword": "pw-bob-1"}
    )
    bob = server.login("bob", "pw-bob-1")

    created = owner.post("/api/downloads", json={"source": "dl", "id": "1", "episode": 1})
    assert created.status_code == 201, created.text
    task = created.json()
    assert "url" not in task and task["episode_title"] == "第2集" and task["owner"] == "admin"
    done = wait_done(owner, task["id"])
    assert done["status"] == "done", done
    assert done["removed_seconds"] == pytest.approx(6.0, abs=0.01)
    assert done["_progress_seen"][-1] == 1.0

    expected = programme_bytes(cdn)
    url = f"/api/downloads/{task['id']}/file"
    whole = owner.get(url)
    assert whole.status_code == 200 and whole.content == expected
    assert whole.headers["content-type"] == "video/mp2t"
    assert "attachment" in whole.headers["content-disposition"]
    part = owner.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == expected[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(expected)}"

    # someone else's file, listing and cancel: as if it did not exist
    assert bob.get(url).status_code == 404
    assert bob.delete(f"/api/downloads/{task['id']}").status_code == 404
    assert bob.get("/api/downloads").json()["tasks"] == []
    assert server.client().get(url).status_code == 401

    # bob's own download is visible to the owner (admin) and can be cancelled by them
    mine = bob.post("/api/downloads", json={"source": "dl", "id": "1", "episode": 0}).json()
    everyone = owner.get("/api/downloads?all=1").json()
    assert {t["owner"] for t in everyone["tasks"]} == {"admin", "bob"} and "disk" in everyone
    assert owner.delete(f"/api/downloads/{mine['id']}").status_code == 200
    assert bob.get("/api/downloads").json()["tasks"] == []

    metrics = owner.get("/metrics").text
    written = next(x for x in metrics.splitlines() if x.startswith("moontv_download_bytes_total "))
    assert float(written.split()[1]) >= len(expected)
    assert 'moontv_downloads{status="done"} 1.0' in metrics


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"source": "dl", "id": "1", "episode": -1}, 400),
        ({"source": "dl", "id": "1", "episode": True}, 400),
        ({"source": "dl", "id": "1", "episode": 9}, 400),
        ({"source": "nope", "id": "1"}, 404),  # unknown or not allowed: find_site's 404
        ({"source": "dl", "id": "404"}, 404),
    ],
)
async def test_bad_requests_are_refused_clearly(
    inprocess_app: Callable[..., Awaitable[InProcessApp]],
    fake_cms_factory: Any,
    cdn: Upstream,
    body: dict[str, Any],
    status: int,
) -> None:
    cms = fake_cms_factory(items(cdn))
    app = await inprocess_app({"dl": cms.base_url}, allow_private_upstreams="127.0.0.1/32")
    answer = await (await app.client(as_user="admin")).post("/api/downloads", json=body)
    assert answer.status_code == status and answer.json()["error"]


def test_quota_refuses_politely_over_http(
    live_app: Callable[..., LiveServer], fake_cms_factory: Any, cdn: Upstream
) -> None:
    assert len(programme_bytes(cdn)) > 1024 * 1024  # the 1 MB quota below cannot hold it
    cms = fake_cms_factory(items(cdn))
    server = live_app({"dl": cms.base_url}, allow_private_upstreams="127.0.0.1/32", download_quota_mb=1)
    client = server.login()
    first = client.post("/api/downloads", json={"source": "dl", "id": "1", "episode": 0}).json()
    failed = wait_done(client, first["id"])
    assert failed["status"] == "failed" and "超出个人下载空间（1 MB）" in failed["error"]
    assert client.get("/api/downloads").json()["usage"]["bytes"] == 0  # the partial file was removed
    assert not list((server.settings.data_dir / "downloads").glob("*.part"))


# -- kill -9 ---------------------------------------------------------------------------------------


@pytest.fixture
def app_process(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], tuple[subprocess.Popen[bytes], str]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        full = {**os.environ, **env, "MOONTV_PORT": str(port), "MOONTV_HOST": "127.0.0.1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "moontv", "serve"], env=full, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code < 500:
                    return proc, url
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_download_resumes_after_kill_9_with_the_same_bytes(
    tmp_path: Path, fake_cms_factory: Any, cdn: Upstream, app_process: Any
) -> None:
    cms = fake_cms_factory(items(cdn))
    write_config(tmp_path / "config.json", {"dl": cms.base_url})
    env = {
        "MOONTV_PASSWORD": "test", "MOONTV_USERNAME": "admin", "MOONTV_CONFIG": str(tmp_path / "config.json"),
        "MOONTV_DATA_DIR": str(tmp_path / "data"), "MOONTV_SECRET_KEY": "k" * 40,
        "MOONTV_ALLOW_PRIVATE_UPSTREAMS": "127.0.0.1/32", "MOONTV_DOWNLOAD_CONCURRENCY": "1",
    }  # fmt: skip
    for n in range(4, 10):
        cdn.delays[f"/clean/seg{n:03d}.ts"] = 0.6  # slow enough to be killed in the middle
    proc, url = app_process(env)
    client = httpx.Client(base_url=url, timeout=30, trust_env=False)
    assert client.post("/api/login", json={"username": "admin", "password": "test"}).status_code == 200
    task = client.post("/api/downloads", json={"source": "dl", "id": "1", "episode": 0}).json()
    state_file = tmp_path / "data" / "downloads" / f"{task['id']}.json"
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline
        saved = json.loads(state_file.read_text()) if state_file.exists() else {}
        if saved.get("segments_done", 0) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    part = tmp_path / "data" / "downloads" / f"{task['id']}.ts.part"
    assert part.exists() and not (tmp_path / "data" / "downloads" / f"{task['id']}.ts").exists()
    cdn.delays.clear()
    cdn.clear()

    _, url = app_process(env)
    client = httpx.Client(base_url=url, timeout=30, trust_env=False)
    assert client.post("/api/login", json={"username": "admin", "password": "test"}).status_code == 200
    done = wait_done(client, task["id"])
    assert done["status"] == "done", done
    assert client.get(f"/api/downloads/{task['id']}/file").content == programme_bytes(cdn)
    fetched = [p for p in cdn.paths() if p.startswith("/clean/")]
    assert "/clean/seg000.ts" not in fetched and "/clean/seg009.ts" in fetched  # continued, not restarted
