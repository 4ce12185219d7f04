"""A bounded in-process TTL cache for parsed upstream pages: by entry count and by bytes.

``max_bytes`` is a budget for the estimated memory of the cached values (``weigh``, by default
:func:`json_weight`). The oldest
entries go first when either limit is passed; a value larger than the whole budget is not kept.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import orjson

V = TypeVar("V")


# Parsed JSON held as Python objects (dicts, lists, str) takes about four times its JSON size.
PYTHON_OVER_JSON = 4


def json_weight(value: Any) -> int:
    """Approximate bytes held by ``value``: its JSON size times PYTHON_OVER_JSON (C speed)."""
    try:
        return PYTHON_OVER_JSON * len(orjson.dumps(value, default=repr)) + 256
    except TypeError:
        return sys.getsizeof(value)


class TTLCache(Generic[V]):
    def __init__(
        self,
        max_entries: int = 4096,
        *,
        max_bytes: int | None = None,
        weigh: Callable[[V], int] = json_weight,
        clock: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[bool], None] | None = None,
    ) -> None:
        self._data: OrderedDict[Hashable, tuple[float, V, int]] = OrderedDict()
        self._max = max_entries
        self._max_bytes = max_bytes
        self._weigh = weigh
        self._clock = clock
        self._on_lookup = on_lookup
        self.bytes = 0

    def get(self, key: Hashable) -> V | None:
        item = self._data.get(key)
        live = item if item is not None and item[0] > self._clock() else None
        if self._on_lookup is not None:
            self._on_lookup(live is not None)
        if live is None:
            if item is not None:
                self._drop(key)
            return None
        self._data.move_to_end(key)
        return live[1]

    def put(self, key: Hashable, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        weight = self._weigh(value) if self._max_bytes is not None else 0
        self._drop(key)
        if self._max_bytes is not None and weight > self._max_bytes:
            return
        self._data[key] = (self._clock() + ttl, value, weight)
        self.bytes += weight
        while len(self._data) > self._max or (self._max_bytes is not None and self.bytes > self._max_bytes):
            _, (_, _, dropped) = self._data.popitem(last=False)
            self.bytes -= dropped

    def _drop(self, key: Hashable) -> None:
        item = self._data.pop(key, None)
        if item is not None:
            self.bytes -= item[2]

    def clear(self) -> None:
        self._data.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)
