"""Two app replicas on one Redis (the Helm chart's deployment shape, without Kubernetes): a session
and a play record made through one replica are visible through the other."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.support import LiveServer, settings_for, write_config

RECORD = {
    "title": "流浪星球",
    "source_name": "源s0",
    "cover": "https://img.example.com/vod/1.jpg",
    "year": "2023",
    "index": 2,
    "total_episodes": 10,
    "play_time": 120,
    "total_time": 2700,
    "save_time": 1730000000000,
    "search_title": "流浪星球",
}


def _replicas(tmp_path: Path, redis_url: str, secret: str) -> list[LiveServer]:
    servers = []
    for name in ("a", "b"):
        root = tmp_path / name  # separate config file and data dir: the replicas share Redis only
        root.mkdir()
        write_config(root / "config.json", {})
        settings = settings_for(root, storage="redis", redis_url=redis_url, secret_key=secret)
        servers.append(LiveServer(settings).start())
    return servers


@pytest.mark.parametrize(
    "secret", ["fixed-secret-key-for-both-replicas-0123456789", ""], ids=["fixed", "generated"]
)
def test_session_and_play_record_cross_replicas(tmp_path: Path, clean_redis: str, secret: str) -> None:
    a, b = _replicas(tmp_path, clean_redis, secret)
    try:
        via_a = a.login()
        with contextlib.closing(via_a), b.client() as via_b:
            # the session cookie issued by replica A is accepted by replica B
            via_b.cookies.update(via_a.cookies)
            assert via_b.get("/api/playrecords").status_code == 200
            token = via_a.post("/api/login", json={"username": "admin", "password": "test"}).json()["token"]

            saved = via_a.post("/api/playrecords", json={"key": "s0+1", "record": RECORD})
            assert saved.status_code == 200, saved.text
            seen = via_b.get("/api/playrecords")
            assert seen.status_code == 200
            assert seen.json()["s0+1"]["title"] == "流浪星球"
            assert seen.json()["s0+1"]["play_time"] == 120

            # a bearer token from A works on B; a change made through B is visible through A
            bearer = {"Authorization": f"Bearer {token}"}
            with b.client(headers=bearer) as tv_client:
                deleted = tv_client.delete("/api/playrecords", params={"key": "s0+1"})
                assert deleted.status_code == 200
            assert via_a.get("/api/playrecords").json() == {}

            # signing out everywhere through one replica signs out on the other one too
            a.call(a.state.auth.revoke_sessions("admin"))
            assert via_b.get("/api/playrecords").status_code == 401
    finally:
        a.stop()
        b.stop()


def test_replicas_with_different_secrets_do_not_share_sessions(tmp_path: Path, clean_redis: str) -> None:
    """The negative case: the test above would pass vacuously if any cookie were accepted."""
    root_a, root_b = tmp_path / "a", tmp_path / "b"
    servers = []
    for root, secret in ((root_a, "secret-a-" + "x" * 40), (root_b, "secret-b-" + "y" * 40)):
        root.mkdir()
        write_config(root / "config.json", {})
        servers.append(
            LiveServer(settings_for(root, storage="redis", redis_url=clean_redis, secret_key=secret)).start()
        )
    a, b = servers
    try:
        via_a = a.login()
        with contextlib.closing(via_a), b.client() as via_b:
            via_b.cookies.update(via_a.cookies)
            assert via_a.get("/api/playrecords").status_code == 200
            assert via_b.get("/api/playrecords").status_code == 401
    finally:
        a.stop()
        b.stop()
