"""Give memory back to the operating system once a burst of requests is over.

CPython frees objects into glibc's heap, which keeps the pages: after a search burst the process would
stay at its peak size while idle. ``IdleTrimmer`` waits until requests have stopped for a while, then
runs one full garbage collection and ``malloc_trim(0)`` (glibc only; elsewhere just the collection).
At most one trim per quiet period, and only after traffic, so an idle server does no work at all.
``limit_arenas`` caps glibc's per-thread malloc arenas (each worker thread would otherwise keep its own
partly-used heap); it runs before the server starts threads and respects ``MALLOC_ARENA_MAX`` if set.
The cyclic collector is paused while the server starts and the start-up objects are then frozen.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("moontv")

M_ARENA_MAX = -8  # glibc mallopt parameter


def _libc() -> Any:
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def limit_arenas(arenas: int = 2) -> bool:
    """Cap glibc malloc arenas (unless ``MALLOC_ARENA_MAX`` is set); False where unsupported."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    mallopt = getattr(_libc(), "mallopt", None)
    return bool(mallopt is not None and mallopt(M_ARENA_MAX, arenas) == 1)


def pause_collector() -> None:
    """No cyclic collections while the server starts: the imports create long-lived objects only, and
    the full collections they would trigger cost about a sixth of the import time."""
    gc.disable()


def settle_after_start() -> None:
    """Collector back on, with everything built so far moved out of its sight (``gc.freeze``): later
    collections scan only what requests create. No collection first: it would hold up the first request
    for the sake of the little cyclic garbage the start-up leaves (kept, once)."""
    gc.freeze()
    gc.enable()


def trim() -> bool:
    """One full collection, then hand free heap pages back to the OS; True when pages were released."""
    gc.collect()
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    return bool(malloc_trim is not None and malloc_trim(0))


class Activity:
    """Requests served and when the last one ended (fed by the request middleware)."""

    def __init__(self) -> None:
        self.served = 0
        self.in_flight = 0
        self.last_end = time.monotonic()

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1
        self.served += 1
        self.last_end = time.monotonic()


class IdleTrimmer:
    def __init__(
        self,
        activity: Activity,
        *,
        quiet: float = 5.0,
        check_every: float = 2.5,
        trim_fn: Callable[[], bool] = trim,
    ) -> None:
        self.activity = activity
        self.quiet = quiet
        self.check_every = check_every
        self.trim_fn = trim_fn
        self.trims = 0
        self._trimmed_at = activity.served
        self._task: asyncio.Task[None] | None = None

    def due(self, now: float) -> bool:
        a = self.activity
        return a.served != self._trimmed_at and a.in_flight == 0 and now - a.last_end >= self.quiet

    def check(self) -> bool:
        """Trim when requests were served since the last trim and none for ``quiet`` seconds."""
        if not self.due(time.monotonic()):
            return False
        self._trimmed_at = self.activity.served
        started = time.perf_counter()
        released = self.trim_fn()
        self.trims += 1
        took_ms = (time.perf_counter() - started) * 1000
        log.debug("memory trimmed in %.1f ms (released: %s)", took_ms, released)
        return True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="moontv-memory-trim")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_every)
            self.check()
