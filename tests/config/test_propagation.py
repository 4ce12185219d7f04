"""An admin change made through one replica is seen by another within 1 s (both backends: replicas
on one Redis, or processes on one SQLite file), measured over HTTP."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest

from moontv.config.service import ConfigService
from moontv.settings import load_settings
from moontv.storage.factory import create_storage
from tests.support import LiveServer, settings_for, write_config

CHANGES = 8


def _replica(root: Path, storage_kind: str, redis_url: str, data_dir: Path) -> LiveServer:
    root.mkdir()
    write_config(root / "config.json", {})
    settings = settings_for(root, storage=storage_kind, redis_url=redis_url, data_dir=data_dir)
    return LiveServer(settings).start()


@pytest.mark.parametrize("storage_kind", ["sqlite", "redis"])
def test_admin_change_reaches_the_other_replica_within_a_second(
    tmp_path: Path, storage_kind: str, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("clean_redis") if storage_kind == "redis" else ""
    a = _replica(tmp_path / "a", storage_kind, redis_url, tmp_path / "data")
    b = _replica(tmp_path / "b", storage_kind, redis_url, tmp_path / "data")
    try:
        admin = a.login()
        reader = b.client()
        delays = []
        for i in range(CHANGES):
            name = f"站点 {i}"
            assert admin.post("/api/admin/site", json={"SiteName": name}).status_code == 200
            written = time.monotonic()
            while True:
                asked = time.monotonic()
                if reader.get("/api/server-config").json()["SiteName"] == name:
                    break
                # the property, however slow each request is on a loaded machine: every request made
                # 1 s or more after the change gets the new value
                assert asked - written < 1.0, "a request made 1 s after the change got the old value"
                time.sleep(0.005)
            delays.append(time.monotonic() - written)
        print(
            f"config propagation ({storage_kind}): p50 {statistics.median(delays) * 1000:.0f} ms, "
            f"max {max(delays) * 1000:.0f} ms over {CHANGES} changes"
        )
    finally:
        a.stop()
        b.stop()


async def test_a_snapshot_is_revalidated_by_version_only(tmp_path: Path) -> None:
    """Between writes, a replica reads the version number, not the whole document."""
    storage = create_storage("sqlite", data_dir=tmp_path / "data", redis_url=None)
    await storage.open()
    try:
        calls = {"document": 0, "version": 0}
        real_doc, real_version = storage.get_admin_config, storage.get_admin_config_version

        async def document():  # type: ignore[no-untyped-def]
            calls["document"] += 1
            return await real_doc()

        async def version():  # type: ignore[no-untyped-def]
            calls["version"] += 1
            return await real_version()

        storage.get_admin_config = document  # type: ignore[method-assign]
        storage.get_admin_config_version = version  # type: ignore[method-assign]
        settings = load_settings(password="x", config_file=tmp_path / "none.json", data_dir=tmp_path / "data")
        service = ConfigService(storage, settings, "{}", ttl=0)
        await service.initialise(file_exists=False)
        other = ConfigService(storage, settings, "{}", ttl=0)
        first = await service.get()
        before = dict(calls)
        for _ in range(5):
            assert (await service.get()).version == first.version
        assert calls["document"] == before["document"] and calls["version"] == before["version"] + 5
        await other.update(lambda cfg: cfg["SiteConfig"].update(SiteName="new"))
        assert (await service.get()).config["SiteConfig"]["SiteName"] == "new"
        assert calls["document"] == before["document"] + 2  # other's update re-read it, then service
    finally:
        await storage.close()


@pytest.mark.parametrize("storage_kind", ["sqlite", "redis"])
async def test_replicas_seeding_the_config_together_all_start(
    tmp_path: Path, storage_kind: str, request: pytest.FixtureRequest
) -> None:
    """Replicas started at once on empty storage all write the first document; the losers of that
    race go on from the winner's instead of failing start-up (a VersionConflict before)."""
    redis_url = request.getfixturevalue("clean_redis") if storage_kind == "redis" else None
    settings = load_settings(password="x", config_file=tmp_path / "none.json", data_dir=tmp_path / "data")
    stores = [create_storage(storage_kind, data_dir=tmp_path / "data", redis_url=redis_url) for _ in range(6)]
    for storage in stores:
        await storage.open()
    try:
        text = '{"api_site": {"a": {"api": "https://cms.example/api.php/provide/vod", "name": "A"}}}'
        services = [ConfigService(storage, settings, text, ttl=0) for storage in stores]
        await asyncio.gather(*(s.initialise(file_exists=True) for s in services))  # none raises
        settled = [await s.get() for s in services]  # ttl=0: each re-reads the stored document
        assert len({snapshot.version for snapshot in settled}) == 1
        assert all("a" in str(snapshot.config["SourceConfig"]) for snapshot in settled)
    finally:
        for storage in stores:
            await storage.close()
