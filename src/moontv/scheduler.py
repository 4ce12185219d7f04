"""In-process scheduled refresh: episode counts of users' records/favorites, and the config subscription.

One run at a time (a trigger while a run is going is reported, not queued); each run is bounded in
total time and in concurrent upstream requests, logs one summary line and exports its last-run
time, duration and status as Prometheus metrics. The loop sleeps a jittered interval between runs
and stops with the app.

With several replicas on one storage, a scheduled run needs the ``refresh`` lease in storage: the
holder renews it on each of its ticks, the others skip theirs, so one replica refreshes per interval.
The lease outlives one interval (with jitter) and one run's budget; when its holder dies, it
expires and the next replica to tick takes it over. A replica that stops gives it up at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError

from moontv.config.admin import available_sites
from moontv.sources.models import ApiSite, SourceError
from moontv.userdata.models import Favorite, PlayRecord

log = logging.getLogger("moontv.scheduler")
STATUS_CODES = {"ok": 1, "partial": 2, "timeout": 3, "failed": 0}
LEASE = "refresh"


def replica_id() -> str:
    """This process among the replicas: host name, pid and a random part (pids repeat in containers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(slots=True)
class RunSummary:
    trigger: str
    status: str = "running"
    startedAt: int = 0  # wire names
    durationMs: int = 0
    users: int = 0
    entries: int = 0
    checked: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0
    subscription: str = "not_due"
    live: str = "off"  # live sources refreshed: "n/m ok"
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class RefreshMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.last_run = Gauge(
            "moontv_refresh_last_run_timestamp_seconds",
            "Start time of the last finished refresh run",
            registry=registry,
        )
        self.last_duration = Gauge(
            "moontv_refresh_last_run_duration_seconds",
            "Duration of the last finished refresh run",
            registry=registry,
        )
        self.last_status = Gauge(
            "moontv_refresh_last_run_status",
            "Last refresh run: 1 ok, 2 partial (some lookups failed), 3 stopped at the time budget, 0 failed",
            registry=registry,
        )
        self.runs = Counter(
            "moontv_refresh_runs_total", "Refresh runs by status", ["status"], registry=registry
        )
        self.updated = Counter(
            "moontv_refresh_entries_updated_total",
            "Records/favorites whose episode count changed",
            registry=registry,
        )


class RefreshScheduler:
    def __init__(
        self,
        *,
        storage: Any,
        config: Any,
        cms: Any,
        owner: str,
        interval: float,
        concurrency: int,
        budget: float,
        lookup_timeout: float,
        metrics: RefreshMetrics,
        subscription_check: Callable[[], Awaitable[Any]] | None = None,
        live_refresh: Callable[[], Awaitable[dict[str, dict[str, Any]]]] | None = None,
        jitter: float = 0.1,
        holder: str | None = None,
        lease_margin: float = 5.0,
    ) -> None:
        self._storage = storage
        self._config = config
        self._cms = cms
        self._owner = owner
        self.interval = interval
        self.concurrency = concurrency
        self.budget = budget
        self.lookup_timeout = lookup_timeout
        self._metrics = metrics
        self._subscription_check = subscription_check
        self._live_refresh = live_refresh
        self._jitter = jitter
        self._lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None
        self._background: asyncio.Task[Any] | None = None
        self.last: RunSummary | None = None
        self.current: RunSummary | None = None
        self.holder = holder or replica_id()
        self.lease_margin = lease_margin
        self.leader = False  # this replica held the lease at its last tick
        self.completed_runs = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self.interval > 0 and self._loop_task is None:
            self._loop_task = asyncio.create_task(self._loop(), name="moontv-refresh")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, self._background) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None
        if self.leader:  # hand over now instead of at expiry
            self.leader = False
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._storage.release_lease(LEASE, self.holder)

    def lease_ttl(self) -> float:
        """Seconds: longer than the longest gap between two renewals by the holder. The holder renews
        at the start of a tick, runs (at most ``budget``), then sleeps (at most ``longest_delay``)
        before renewing again, so the gap is their sum; the margin absorbs a slow event loop."""
        return self.longest_delay() + self.budget + self.lease_margin

    def longest_delay(self) -> float:
        return max(1.0, self.interval * (1 + self._jitter))

    async def _lead(self) -> bool:
        self.leader = bool(
            await self._storage.acquire_lease(LEASE, self.holder, round(self.lease_ttl() * 1000))
        )
        return self.leader

    def next_delay(self) -> float:
        spread = self.interval * self._jitter
        return max(1.0, self.interval + random.uniform(-spread, spread))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.next_delay())
            try:
                if not await self._lead():
                    log.debug("scheduled refresh: another replica holds the lease")
                    continue
                await self.run_once("schedule")
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop outlives any single failed run
                log.exception("scheduled refresh failed")

    @property
    def running(self) -> bool:
        return self._lock.locked()

    def trigger(self, name: str = "cron") -> bool:
        """Start a run in the background; False when one is already running."""
        if self.running or (self._background is not None and not self._background.done()):
            return False
        self._background = asyncio.create_task(self.run_once(name))
        return True

    # -- one run -------------------------------------------------------------------------------------
    async def run_once(self, trigger: str = "manual") -> RunSummary | None:
        """Run now and return the summary; None when another run is in progress."""
        if self._lock.locked():
            return None
        async with self._lock:
            summary = RunSummary(trigger, startedAt=int(time.time() * 1000))
            self.current = summary
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.budget):
                    await self._subscription(summary)
                    await self._episodes(summary)
                    await self._live(summary)
                summary.status = "partial" if summary.failed or summary.errors else "ok"
            except TimeoutError:
                summary.status = "timeout"
            except asyncio.CancelledError:
                summary.status = "failed"
                raise
            except Exception as exc:
                summary.status = "failed"
                summary.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                log.exception("refresh run failed")
            finally:
                summary.durationMs = round((time.monotonic() - started) * 1000)
                self._finish(summary)
            return summary

    def _finish(self, summary: RunSummary) -> None:
        self.last = summary
        self.completed_runs += 1
        self.current = None
        self._metrics.last_run.set(summary.startedAt / 1000)
        self._metrics.last_duration.set(summary.durationMs / 1000)
        self._metrics.last_status.set(STATUS_CODES.get(summary.status, 0))
        self._metrics.runs.labels(summary.status).inc()
        log.info(
            "refresh run (%s): %s in %d ms; users=%d entries=%d checked=%d updated=%d failed=%d "
            "subscription=%s",
            summary.trigger,
            summary.status,
            summary.durationMs,
            summary.users,
            summary.entries,
            summary.checked,
            summary.updated,
            summary.failed,
            summary.subscription,
        )

    async def _subscription(self, summary: RunSummary) -> None:
        if self._subscription_check is None:
            return
        try:
            result = await self._subscription_check()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            summary.subscription = "failed"
            summary.errors.append(f"subscription: {getattr(exc, 'message', None) or exc}"[:200])
            return
        summary.subscription = "imported" if result is not None else "not_due"

    async def _live(self, summary: RunSummary) -> None:
        if self._live_refresh is None:
            return
        try:
            report = await self._live_refresh()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            summary.live = "failed"
            summary.errors.append(f"live: {exc}"[:200])
            return
        ok = sum(1 for item in report.values() if not item.get("error"))
        summary.live = f"{ok}/{len(report)} ok"

    async def _users(self, config: dict[str, Any]) -> list[str]:
        names = dict.fromkeys(await self._storage.list_users())
        if self._owner:
            names.setdefault(self._owner, None)
        for user in config["UserConfig"]["Users"]:
            if isinstance(user.get("username"), str):
                names.setdefault(user["username"], None)
        return list(names)

    async def _episodes(self, summary: RunSummary) -> None:
        """Refresh episode counts: each user's entries only from the sources that user may use,
        ``concurrency`` workers at a time (the run's time budget bounds the whole)."""
        config = (await self._config.get()).config
        users = await self._users(config)
        summary.users = len(users)
        work: list[tuple[str, str, str, ApiSite | None]] = []  # (user, kind, key, site)
        for user in users:
            allowed = {s.key: s for s in available_sites(config, user)}
            for key in await self._storage.get_all_play_records(user):
                work.append((user, "record", key, allowed.get(key.partition("+")[0])))
            for key in await self._storage.get_all_favorites(user):
                work.append((user, "favorite", key, allowed.get(key.partition("+")[0])))
        summary.entries = len(work)
        # one lookup per title (shared by every user that has it); only what _apply needs is kept
        lookups: dict[str, asyncio.Task[dict[str, Any] | None]] = {}

        async def lookup(site: ApiSite, vod_id: str) -> dict[str, Any] | None:
            summary.checked += 1
            detail = await self._cms.detail(site, vod_id, timeout=self.lookup_timeout)
            if detail is None:
                return None
            kept = {name: detail.get(name) for name in ("title", "poster", "year")}
            kept["episodes"] = len(detail.get("episodes") or [])
            return kept

        async def refresh(user: str, kind: str, key: str, site: ApiSite | None) -> None:
            _source, _, vod_id = key.partition("+")
            if site is None or not vod_id:
                summary.skipped += 1
                return
            task = lookups.get(key)
            if task is None:
                task = lookups[key] = asyncio.ensure_future(lookup(site, vod_id))
            try:
                detail = await asyncio.shield(task)
            except SourceError:
                summary.failed += 1
                return
            if detail is None:
                summary.skipped += 1
                return
            episodes = int(detail["episodes"])
            if episodes > 0 and await self._apply(user, kind, key, detail, episodes):
                summary.updated += 1
                self._metrics.updated.inc()

        queue = iter(work)

        async def worker() -> None:
            for item in queue:
                await refresh(*item)

        try:
            await asyncio.gather(*(worker() for _ in range(max(1, self.concurrency))))
        finally:
            for task in lookups.values():
                task.cancel()

    async def _apply(self, user: str, kind: str, key: str, detail: dict[str, Any], episodes: int) -> bool:
        """Write the new episode count onto the *current* stored entry (progress saved meanwhile is kept)."""
        getter = self._storage.get_play_record if kind == "record" else self._storage.get_favorite
        setter = self._storage.set_play_record if kind == "record" else self._storage.set_favorite
        current = await getter(user, key)
        if current is None or current.get("total_episodes") == episodes:
            return False
        updated = dict(current)
        updated["total_episodes"] = episodes
        for field_name, source_name in (("title", "title"), ("cover", "poster"), ("year", "year")):
            value = detail.get(source_name)
            if isinstance(value, str) and value and value != "unknown":
                updated[field_name] = value
        # the upstream's values pass the rules the API applies (bounded text, valid counts)
        model: type[PlayRecord | Favorite] = PlayRecord if kind == "record" else Favorite
        try:
            entry = model.model_validate(updated)
        except ValidationError:
            return False
        await setter(user, key, entry.stored())
        return True
