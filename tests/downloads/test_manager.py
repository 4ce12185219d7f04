"""The download engine on real ffmpeg-made HLS: exact programme, no ad frames, AES-128, quotas, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from moontv.downloads.manager import DownloadLimits, DownloadManager, DownloadRefused
from moontv.downloads.store import DONE, FAILED, Task, TaskStore
from moontv.streams.netguard import NetGuard
from moontv.streams.service import SourceOptions, StreamService
from tests.downloads.conftest import EXPECTED_FRAMES, probe, red_frames
from tests.streams.hls_fixtures import PROGRAMME_SECONDS
from tests.streams.upstream import Upstream

Factory = Callable[..., Awaitable[DownloadManager]]


@pytest.fixture
async def manager_factory(tmp_path: Path) -> AsyncIterator[Factory]:
    made: list[tuple[DownloadManager, StreamService]] = []

    async def make(guard: NetGuard | None = None, **limits: int) -> DownloadManager:
        streams = StreamService(guard=guard or NetGuard("127.0.0.1"), secret=b"k" * 32, timeout=10)

        async def options(source: str) -> SourceOptions:
            return SourceOptions(key=source, ad_filter=True)

        manager = DownloadManager(
            TaskStore(tmp_path / "downloads"), streams, options, DownloadLimits(**limits)
        )
        await manager.start()
        made.append((manager, streams))
        return manager

    yield make
    for manager, streams in made:
        await manager.stop()
        await streams.aclose()


async def finished(manager: DownloadManager, task: Task, timeout: float = 60) -> Task:
    deadline = asyncio.get_running_loop().time() + timeout
    while task.status not in (DONE, FAILED):
        assert asyncio.get_running_loop().time() < deadline, task
        await manager.wait_change(manager.version, 1.0)
    return task


async def queue(
    manager: DownloadManager, cdn: Upstream, name: str, owner: str = "alice", episode: int = 0
) -> Task:
    return await manager.create(
        owner,
        source="s",
        vod_id="1",
        episode=episode,
        title="星",
        episode_title=name,
        url=f"{cdn.url}/{name}.m3u8",
    )


async def test_mid_roll_ad_is_left_out_and_the_programme_is_exact(
    manager_factory: Factory, cdn: Upstream
) -> None:
    manager = await manager_factory()
    task = await finished(manager, await queue(manager, cdn, "mid"))
    assert task.status == DONE, task.error
    path = manager.store.output_path(task)
    info = await asyncio.to_thread(probe, path)
    assert abs(info["duration"] - PROGRAMME_SECONDS) < 0.05, info
    assert info["frames"] == EXPECTED_FRAMES
    assert await asyncio.to_thread(red_frames, path) == 0
    assert task.removed_seconds == pytest.approx(6.0, abs=0.01) and task.size == path.stat().st_size
    assert not manager.store.part_path(task).exists()
    # the file is the programme's own segments, byte for byte, in order
    root = Path(cdn.root or ".")
    programme = b"".join(p.read_bytes() for p in sorted((root / "clean").glob("seg*.ts")))
    assert path.read_bytes() == programme


async def test_aes_128_segments_are_decrypted(manager_factory: Factory, cdn: Upstream) -> None:
    manager = await manager_factory()
    task = await finished(manager, await queue(manager, cdn, "aesmid"))
    assert task.status == DONE, task.error
    root = Path(cdn.root or ".")
    programme = b"".join(p.read_bytes() for p in sorted((root / "clean").glob("seg*.ts")))
    assert manager.store.output_path(task).read_bytes() == programme
    assert sum(1 for p in cdn.paths() if p.endswith("key.bin")) == 1  # the key is fetched once


async def test_master_playlist_takes_the_best_variant_and_fmp4_keeps_its_init(
    manager_factory: Factory, cdn: Upstream
) -> None:
    manager = await manager_factory()
    master = await finished(manager, await queue(manager, cdn, "master"))
    assert master.status == DONE and master.duration == pytest.approx(PROGRAMME_SECONDS, abs=0.05)
    fmp4 = await finished(manager, await queue(manager, cdn, "fmp4mid", episode=1))
    assert fmp4.status == DONE and fmp4.container == "mp4", fmp4.error
    info = await asyncio.to_thread(probe, manager.store.output_path(fmp4))
    assert info["frames"] == EXPECTED_FRAMES


async def test_quota_refuses_politely(manager_factory: Factory, cdn: Upstream) -> None:
    manager = await manager_factory(user_quota=1024)
    task = await finished(manager, await queue(manager, cdn, "clean"))
    assert task.status == FAILED and "个人下载空间" in task.error
    assert not manager.store.part_path(task).exists() and manager.usage("alice") == 0
    # a finished download that fills the quota makes the next request a 413 before any work
    root = Path(cdn.root or ".")
    programme = sum(p.stat().st_size for p in (root / "clean").glob("seg*.ts"))
    roomy = await manager_factory(user_quota=programme)  # exactly one programme
    first = await finished(roomy, await queue(roomy, cdn, "mid", owner="bob"))
    assert first.status == DONE
    with pytest.raises(DownloadRefused) as caught:
        await queue(roomy, cdn, "clean", owner="bob", episode=2)
    assert caught.value.status == 413 and "下载空间已用完" in caught.value.message
    await queue(roomy, cdn, "clean", owner="carol", episode=2)  # others are not affected
    with pytest.raises(DownloadRefused) as duplicate:
        await queue(roomy, cdn, "mid", owner="bob")
    assert duplicate.value.status == 409


async def test_broken_segments_fail_after_retries_and_private_hosts_are_refused(
    manager_factory: Factory, cdn: Upstream
) -> None:
    from tests.streams.upstream import Canned

    cdn.canned["/clean/seg004.ts"] = Canned(status=500)
    manager = await manager_factory(segment_retries=1)
    task = await finished(manager, await queue(manager, cdn, "clean"))
    assert task.status == FAILED and "重试 1 次" in task.error
    assert cdn.paths().count("/clean/seg004.ts") == 2
    strict = await manager_factory(guard=NetGuard())
    blocked = await finished(strict, await queue(strict, cdn, "mid", owner="dave"))
    assert blocked.status == FAILED and "不允许访问" in blocked.error
