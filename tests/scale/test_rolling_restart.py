"""Three replicas behind HAProxy under a bounded load (search, play-record writes, segment proxy):
a rolling restart loses no request; kill -9 of one replica fails only requests it had in flight,
the LB drops it within its check interval, and no acknowledged write is lost."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from moontv.streams.netguard import NetGuard
from moontv.streams.service import StreamService
from tests.scale.cluster import CHECK_FALL, CHECK_INTERVAL_S, SECRET, Cluster, SegmentOrigin
from tests.storage.test_contract import flush_redis_db, redis_db_url

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
SCALE_REDIS_DB = 6
OWNER = "admin"  # the default USERNAME: the load logs in as the owner, and segment URLs are signed for it
WORKERS = 4


def segment_url(origin: SegmentOrigin) -> dict[str, str]:
    streams = StreamService(
        guard=NetGuard(""), secret=SECRET.encode(), timeout=5, registry=CollectorRegistry()
    )
    url = f"{origin.url}/seg/000.ts"
    expires = int(time.time()) + 3600
    signature = streams.sign("segment", "", url, OWNER, expires)
    params = {"url": url, "source": "", "exp": str(expires), "sig": signature}
    asyncio.run(streams.aclose())
    return params


@dataclass(frozen=True)
class Result:
    phase: str  # the phase when the request was sent
    op: str
    started: float
    ended: float
    ok: bool
    detail: str


@dataclass
class Load:
    url: str
    segment: dict[str, str]
    phase: str = "warm-up"
    stop: threading.Event = field(default_factory=threading.Event)
    results: list[Result] = field(default_factory=list)
    killed_at: float = float("inf")
    acknowledged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def worker(self, n: int) -> None:
        client = httpx.Client(base_url=self.url, timeout=20)
        assert client.post("/api/login", json={"password": "scale-test"}).status_code == 200
        i = 0
        while not self.stop.is_set():
            i += 1
            op = ("search", "write", "segment")[i % 3]
            phase, started = self.phase, time.monotonic()
            key = f"w{n}+{i}"
            try:
                if op == "search":
                    r = client.get("/api/search", params={"q": "流浪星球"})
                    ok = r.status_code == 200 and bool(r.json()["results"])
                elif op == "write":
                    record = {"title": f"t{key}", "source_name": "s", "cover": "", "year": "2024",
                              "index": 1, "total_episodes": 2, "play_time": i, "total_time": 60,
                              "save_time": 1, "search_title": ""}  # fmt: skip
                    r = client.post("/api/playrecords", json={"key": key, "record": record})
                    ok = r.status_code == 200
                    if ok:
                        with self.lock:
                            self.acknowledged.append(key)
                else:
                    r = client.get("/api/proxy/segment", params=self.segment)
                    ok = r.status_code == 200 and len(r.content) == SegmentOrigin.SIZE
                detail = str(r.status_code)
            except httpx.HTTPError as exc:
                ok, detail = False, type(exc).__name__
            with self.lock:
                self.results.append(Result(phase, op, started, time.monotonic(), ok, detail))
            time.sleep(0.02)
        client.close()

    def phase_of(self, result: Result) -> str:
        """A request still in flight when the replica was killed belongs to the kill, whenever it
        was sent: the kill, not the rolling restart before it, is what it can fail from."""
        return "kill -9" if result.started <= self.killed_at <= result.ended else result.phase

    def failures(self, phase: str) -> list[Result]:
        return [r for r in self.results if self.phase_of(r) == phase and not r.ok]

    def count(self, phase: str) -> int:
        return sum(1 for r in self.results if self.phase_of(r) == phase)


def test_rolling_restart_and_kill(tmp_path: Path, redis_server: str, fake_cms_factory) -> None:  # type: ignore[no-untyped-def]
    redis_url = redis_db_url(redis_server, SCALE_REDIS_DB)
    flush_redis_db(redis_url)
    cms = fake_cms_factory()
    origin = SegmentOrigin()
    config = json.dumps({"cache_time": 600, "api_site": {"a": {"api": cms.base_url, "name": "源a"}}})
    cluster = Cluster(tmp_path, redis_url, config)
    load = Load(cluster.url, segment_url(origin))
    stored: dict[str, object] = {}
    threads = [threading.Thread(target=load.worker, args=(n,), daemon=True) for n in range(WORKERS)]
    try:
        cluster.start()
        for thread in threads:
            thread.start()
        time.sleep(2)

        load.phase = "rolling restart"
        restart_times = []
        for replica in cluster.replicas:
            started = time.monotonic()
            assert replica.terminate() == 0
            replica.start()
            replica.wait_ready()
            cluster.wait_lb(lambda states, name=replica.name: states[name] == "UP", 20)
            restart_times.append(time.monotonic() - started)
        time.sleep(1)

        load.phase = "kill -9"
        victim = cluster.replicas[1]
        load.killed_at = time.monotonic()
        victim.kill()
        dropped_after = cluster.wait_lb(lambda states: states[victim.name] == "DOWN", 10)
        time.sleep(2)
        load.phase = "after"
        time.sleep(1)
    finally:
        load.stop.set()
        for thread in threads:
            if thread.is_alive():  # not started when the cluster failed to come up
                thread.join(timeout=30)
        try:
            survivors = [r for r in cluster.replicas if r.proc is not None and r.proc.poll() is None]
            if survivors:
                check = httpx.Client(base_url=f"http://127.0.0.1:{survivors[0].port}", timeout=20)
                assert check.post("/api/login", json={"password": "scale-test"}).status_code == 200
                stored = check.get("/api/playrecords").json()
                check.close()
        finally:
            cluster.stop()
            origin.stop()

    lost = [key for key in load.acknowledged if key not in stored]
    rolling = load.failures("rolling restart")
    killed = load.failures("kill -9")
    sent_before_kill = [
        r for r in load.results if r.phase != "kill -9" and r.started <= load.killed_at <= r.ended
    ]
    print(
        f"\nscale test: {len(load.results)} requests by {WORKERS} workers; rolling restart of 3 replicas "
        f"({', '.join(f'{t:.1f}' for t in restart_times)} s each): {load.count('rolling restart')} requests, "
        f"{len(rolling)} failed; kill -9: LB marked it DOWN after {dropped_after:.2f} s "
        f"(check every {CHECK_INTERVAL_S} s, fall {CHECK_FALL}), {load.count('kill -9')} requests, "
        f"{len(killed)} failed {[(r.op, r.detail) for r in killed]}; sent before the kill and in flight "
        f"at it: {[(r.op, r.ok) for r in sent_before_kill]}; after: "
        f"{len(load.failures('after'))} failed; acknowledged writes {len(load.acknowledged)}, "
        f"lost {len(lost)}"
    )
    assert load.count("rolling restart") > 30 and not rolling, rolling
    assert len(killed) <= WORKERS  # at most the requests the killed replica had in flight
    assert dropped_after <= CHECK_INTERVAL_S * (CHECK_FALL + 1) + 1.0
    assert not load.failures("after") and not load.failures("warm-up")
    assert load.acknowledged and not lost


def test_compose_load_balancer_config_is_valid_and_checks_readiness() -> None:
    """deploy/haproxy/haproxy.cfg (compose.scale.yaml's load balancer): valid for this HAProxy, checks
    /api/ready, retries elsewhere, and its check window is shorter than the replicas' drain."""
    import re
    import subprocess

    from tests.conftest import REPO

    cfg = REPO / "deploy" / "haproxy" / "haproxy.cfg"
    check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    text = cfg.read_text()
    assert "option httpchk GET /api/ready" in text and "option redispatch" in text
    assert "option http-buffer-request" in text  # retries replay requests with a body
    inter = float(re.search(r"inter (\d+)s", text).group(1))  # type: ignore[union-attr]
    fall = int(re.search(r"fall (\d+)", text).group(1))  # type: ignore[union-attr]
    check = float(re.search(r"timeout check (\d+)s", text).group(1))  # type: ignore[union-attr]
    compose = (REPO / "compose.scale.yaml").read_text()
    drain = float(re.search(r'MOONTV_DRAIN_SECONDS: "([\d.]+)"', compose).group(1))  # type: ignore[union-attr]
    assert fall * (inter + check) < drain  # slow checks included, the LB gives up on it first
