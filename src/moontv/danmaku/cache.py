"""A byte-bounded LRU with expiry, and a way to share one in-flight load among concurrent callers."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable


class ByteLRU:
    """Keeps ``bytes`` values while their total size stays under ``budget``; least recently used go first.
    A value larger than a quarter of the budget is not kept (it would push out everything else)."""

    def __init__(self, budget: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self.ttl = ttl
        self.clock = clock
        self.size = 0
        self._items: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._loading: dict[Hashable, asyncio.Future[bytes]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self.clock():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: bytes) -> None:
        self._drop(key)
        if len(value) * 4 > self.budget:
            return
        self._items[key] = (self.clock() + self.ttl, value)
        self.size += len(value)
        while self.size > self.budget:
            oldest = next(iter(self._items))
            self._drop(oldest)

    def _drop(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.size -= len(item[1])

    async def load(self, key: Hashable, loader: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached value, or the result of ``loader`` (run once however many callers wait for it)."""
        cached = self.get(key)
        if cached is not None:
            return cached
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: a lone caller re-raises below
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        self.put(key, value)
        return value
