"""A bounded in-process TTL cache for parsed upstream pages."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(
        self,
        max_entries: int = 4096,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[bool], None] | None = None,
    ) -> None:
        self._data: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._max = max_entries
        self._clock = clock
        self._on_lookup = on_lookup

    def get(self, key: Hashable) -> V | None:
        item = self._data.get(key)
        hit = item is not None and item[0] > self._clock()
        if self._on_lookup is not None:
            self._on_lookup(hit)
        if not hit:
            if item is not None:
                del self._data[key]
            return None
        self._data.move_to_end(key)
        return item[1]  # type: ignore[index]

    def put(self, key: Hashable, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        self._data[key] = (self._clock() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
