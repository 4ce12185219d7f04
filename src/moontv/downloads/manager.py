"""The download queue: a few episodes at a time, each fetched with bounded segment concurrency, written in
order, checkpointed, resumed after a restart; per-user quota and a global disk budget."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import httpx
from prometheus_client import Counter, Gauge

from moontv.aes import CryptoError, aes_cbc_decrypt
from moontv.downloads.plan import Plan, PlanError, PlannedSegment, make_plan
from moontv.downloads.store import ACTIVE, CANCELLED, DONE, FAILED, QUEUED, RUNNING, Task, TaskStore, new_id
from moontv.errors import ServiceError
from moontv.streams.ads import ProbeError
from moontv.streams.netguard import BlockedURL
from moontv.streams.service import SourceOptions, StreamService, UpstreamError

log = logging.getLogger(__name__)
MB = 1024 * 1024
CHECKPOINT_SECONDS = 0.5


@dataclass(frozen=True)
class DownloadLimits:
    user_quota: int = 4096 * MB
    disk_budget: int = 20480 * MB
    segment_concurrency: int = 4
    active_tasks: int = 2
    tasks_per_user: int = 100
    segment_retries: int = 3
    max_segment_bytes: int = 64 * MB


class DownloadRefused(ServiceError):
    """A request the manager turns down politely (``status`` for the API: 400, 404, 409, 413, 507)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)


class _TaskFailed(Exception):
    pass


def _iv(segment: PlannedSegment) -> bytes:
    if segment.iv:
        text = segment.iv[2:] if segment.iv.lower().startswith("0x") else segment.iv
        try:
            return bytes.fromhex(text).rjust(16, b"\0")[-16:]
        except ValueError:
            raise _TaskFailed("加密向量 IV 无效") from None
    return segment.sequence.to_bytes(16, "big")


class DownloadManager:
    def __init__(
        self,
        store: TaskStore,
        streams: StreamService,
        options: Callable[[str], Awaitable[SourceOptions]],
        limits: DownloadLimits | None = None,
        registry: Any = None,
    ) -> None:
        self.store = store
        self.streams = streams
        self.options = options
        self.limits = limits or DownloadLimits()
        self.tasks: dict[str, Task] = {}
        self.version = 0
        self._changed = asyncio.Event()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._sizes: dict[str, int] = {}
        self._stopping = False
        self.metric_bytes = self.metric_finished = self.metric_tasks = self.metric_disk = None
        if registry is not None:
            self.metric_bytes = Counter(
                "moontv_download_bytes_total", "Bytes written by server-side downloads", registry=registry
            )
            self.metric_finished = Counter(
                "moontv_downloads_finished_total",
                "Server-side downloads ended, by status",
                ["status"],
                registry=registry,
            )
            self.metric_tasks = Gauge(
                "moontv_downloads", "Server-side download tasks, by status", ["status"], registry=registry
            )
            self.metric_disk = Gauge(
                "moontv_downloads_disk_bytes", "Disk used by server-side downloads", registry=registry
            )

    # -- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.store.open)
        for task in await asyncio.to_thread(self.store.load_all):
            self.tasks[task.id] = task
            self._sizes[task.id] = self.store.disk_bytes(task)
            if task.status in ACTIVE:
                task.status = QUEUED
                self._queue.put_nowait(task.id)
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self.limits.active_tasks)]
        self._notify()

    async def stop(self) -> None:
        """Stops work without touching task state: running downloads resume at the next start."""
        self._stopping = True
        for worker in self._workers:
            worker.cancel()
        for job in list(self._running.values()):
            job.cancel()
        await asyncio.gather(*self._workers, *self._running.values(), return_exceptions=True)
        self._workers.clear()

    # -- queries ------------------------------------------------------------------------------------

    def visible(self, user: str, *, admin: bool) -> list[Task]:
        return [t for t in self.tasks.values() if admin or t.owner == user]

    def get(self, task_id: str, user: str, *, admin: bool) -> Task | None:
        task = self.tasks.get(task_id)
        return task if task is not None and (admin or task.owner == user) else None

    def usage(self, owner: str | None = None) -> int:
        return sum(
            size for tid, size in self._sizes.items() if owner is None or self.tasks[tid].owner == owner
        )

    async def wait_change(self, version: int, timeout: float) -> int:
        if self.version == version:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        return self.version

    def _notify(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()
        if self.metric_tasks is not None:
            for status in (QUEUED, RUNNING, DONE, FAILED):
                self.metric_tasks.labels(status).set(
                    sum(1 for t in self.tasks.values() if t.status == status)
                )
        if self.metric_disk is not None:
            self.metric_disk.set(self.usage())

    # -- commands -----------------------------------------------------------------------------------

    async def create(
        self, owner: str, *, source: str, vod_id: str, episode: int, title: str, episode_title: str, url: str
    ) -> Task:
        mine = [t for t in self.tasks.values() if t.owner == owner]
        if len(mine) >= self.limits.tasks_per_user:
            raise DownloadRefused(409, f"下载任务过多（最多 {self.limits.tasks_per_user} 个），请先删除一些")
        for task in mine:
            if (task.source, task.vod_id, task.episode) == (
                source,
                vod_id,
                episode,
            ) and task.status != FAILED:
                raise DownloadRefused(409, "该集已在下载列表中")
        used = self.usage(owner)
        if used >= self.limits.user_quota:
            raise DownloadRefused(
                413,
                f"下载空间已用完（{used // MB} / {self.limits.user_quota // MB} MB），请先删除已下载的文件",
            )
        if self.usage() >= self.limits.disk_budget:
            raise DownloadRefused(507, "服务器下载空间已满，请联系管理员")
        task = Task(
            id=new_id(), owner=owner, source=source, vod_id=vod_id, episode=episode,
            title=title, episode_title=episode_title, url=url,
        )  # fmt: skip
        await asyncio.to_thread(self.store.save, task)
        self.tasks[task.id] = task
        self._sizes[task.id] = 0
        self._queue.put_nowait(task.id)
        self._notify()
        return task

    async def cancel(self, task: Task) -> None:
        """Stops the task if it runs and deletes it with its files."""
        task.status = CANCELLED
        job = self._running.get(task.id)
        if job is not None:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        await asyncio.to_thread(self.store.delete, task)
        self.tasks.pop(task.id, None)
        self._sizes.pop(task.id, None)
        self._notify()

    # -- work ---------------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            task_id = await self._queue.get()
            task = self.tasks.get(task_id)
            if task is None or task.status != QUEUED:
                continue
            job = asyncio.create_task(self._run(task))
            self._running[task_id] = job
            try:
                await job
            except asyncio.CancelledError:
                if self._stopping or not job.cancelled():
                    raise  # this worker is being stopped (a cancelled task only ends that task)
            finally:
                self._running.pop(task_id, None)

    async def _run(self, task: Task) -> None:
        task.status = RUNNING
        task.error = ""
        await asyncio.to_thread(self.store.save, task)
        self._notify()
        try:
            opts = await self.options(task.source)
            plan = await asyncio.to_thread(self.store.load_plan, task.id)
            if plan is None:
                plan = await make_plan(self.streams, task.url, opts)
                await asyncio.to_thread(self.store.save_plan, task.id, plan)
                task.segments_total = len(plan.segments)
                task.duration = plan.duration
                task.removed_seconds = plan.removed_seconds
                task.container = plan.container
                task.segments_done = task.part_bytes = 0
                await asyncio.to_thread(self.store.save, task)
            if await asyncio.to_thread(self._finished_before_crash, task):
                self._notify()
                return
            await self._fetch_all(task, plan, opts)
        except asyncio.CancelledError:
            raise
        except (PlanError, _TaskFailed, DownloadRefused) as exc:
            await self._fail(task, str(exc))
        except BlockedURL as exc:
            await self._fail(task, f"不允许访问该地址（{exc.reason}）")
        except (UpstreamError, CryptoError, OSError) as exc:
            await self._fail(task, getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")

    def _finished_before_crash(self, task: Task) -> bool:
        """Settles what a crash can leave behind: a renamed output whose task still says running (done),
        or a ``.part`` shorter than its checkpoint (start over)."""
        final, part = self.store.output_path(task), self.store.part_path(task)
        if final.exists() and not part.exists():
            task.status = DONE
            task.size = final.stat().st_size
            self.store.save(task)
            return True
        if task.part_bytes and (not part.exists() or part.stat().st_size < task.part_bytes):
            task.segments_done = task.part_bytes = 0
        return False

    async def _fail(self, task: Task, message: str) -> None:
        task.status = FAILED
        task.error = message[:300]
        part = self.store.part_path(task)
        await asyncio.to_thread(part.unlink, missing_ok=True)
        self._sizes[task.id] = 0
        task.segments_done = task.part_bytes = 0
        await asyncio.to_thread(self.store.save, task)
        if self.metric_finished is not None:
            self.metric_finished.labels(FAILED).inc()
        self._notify()

    async def _fetch_all(self, task: Task, plan: Plan, opts: SourceOptions) -> None:
        part_path = self.store.part_path(task)
        handle: BinaryIO = await asyncio.to_thread(_open_part, part_path, task.part_bytes)
        try:
            segments = plan.segments
            window = self.limits.segment_concurrency
            pending: dict[int, asyncio.Task[bytes]] = {}
            last_map = segments[task.segments_done - 1].map_uri if task.segments_done else None
            last_checkpoint = time.monotonic()
            try:
                for i in range(task.segments_done, len(segments)):
                    for j in range(i, min(i + window, len(segments))):
                        if j not in pending:
                            pending[j] = asyncio.create_task(self._segment(segments[j], opts))
                    data = await pending.pop(i)
                    segment = segments[i]
                    if segment.map_uri and segment.map_uri != last_map:
                        data = await self._init_section(segment, opts) + data
                        last_map = segment.map_uri
                    await asyncio.to_thread(handle.write, data)
                    task.segments_done = i + 1
                    task.part_bytes += len(data)
                    self._sizes[task.id] = task.part_bytes
                    if self.metric_bytes is not None:
                        self.metric_bytes.inc(len(data))
                    self._check_space(task)
                    if time.monotonic() - last_checkpoint >= CHECKPOINT_SECONDS:
                        await asyncio.to_thread(_checkpoint, handle, self.store, task)
                        last_checkpoint = time.monotonic()
                    self._notify()
            finally:
                for job in pending.values():
                    job.cancel()
                await asyncio.gather(*pending.values(), return_exceptions=True)
            await asyncio.to_thread(_checkpoint, handle, self.store, task)
        finally:
            await asyncio.to_thread(handle.close)
        final = self.store.output_path(task)
        await asyncio.to_thread(os.replace, part_path, final)
        task.status = DONE
        task.size = task.part_bytes
        await asyncio.to_thread(self.store.save, task)
        if self.metric_finished is not None:
            self.metric_finished.labels(DONE).inc()
        self._notify()

    def _check_space(self, task: Task) -> None:
        if self.usage(task.owner) > self.limits.user_quota:
            raise DownloadRefused(413, f"超出个人下载空间（{self.limits.user_quota // MB} MB）")
        if self.usage() > self.limits.disk_budget:
            raise DownloadRefused(507, "服务器下载空间已满")

    async def _fetch(self, uri: str, byterange: tuple[int, int] | None, opts: SourceOptions) -> bytes:
        cap = self.limits.max_segment_bytes
        if byterange is not None:
            length, offset = byterange
            if length > cap:
                raise _TaskFailed("分片过大")
            data = await self.streams.range_read(uri, offset, length, opts)
            if len(data) != length:
                raise UpstreamError(502, "分片不完整")
            return data
        data, _ = await self.streams.fetch_bytes(uri, opts, cap, "分片")
        return data

    async def _segment(self, segment: PlannedSegment, opts: SourceOptions) -> bytes:
        attempts = self.limits.segment_retries + 1
        for attempt in range(attempts):
            try:
                data = await self._fetch(segment.uri, segment.byterange, opts)
                if segment.key_uri is None:
                    return data
                key = await self.streams.fetch_key(segment.key_uri, opts)
                if len(key) != 16:
                    raise _TaskFailed("AES-128 密钥长度不是 16 字节")
                return await asyncio.to_thread(aes_cbc_decrypt, key, _iv(segment), data)
            except BlockedURL:
                raise
            except (UpstreamError, ProbeError, httpx.HTTPError) as exc:
                if attempt + 1 >= attempts:
                    message = getattr(exc, "message", None) or type(exc).__name__
                    raise _TaskFailed(
                        f"分片下载失败（重试 {self.limits.segment_retries} 次）：{message}"
                    ) from None
                await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    async def _init_section(self, segment: PlannedSegment, opts: SourceOptions) -> bytes:
        assert segment.map_uri is not None
        return await self._fetch(segment.map_uri, segment.map_byterange, opts)


def _open_part(path: Any, size: int) -> BinaryIO:
    handle = open(path, "r+b") if os.path.exists(path) else open(path, "w+b")  # noqa: SIM115
    handle.truncate(size)
    handle.seek(size)
    return handle


def _checkpoint(handle: BinaryIO, store: TaskStore, task: Task) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    store.save(task)
