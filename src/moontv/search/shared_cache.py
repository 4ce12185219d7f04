"""The second level of the search cache: parsed upstream pages in Redis/Kvrocks, shared by every
replica, so N replicas ask an upstream once per query and page instead of N times.

Bounded: an entry expires with the site's cache_time, a page over ``max_value_bytes`` is not
shared, and an index (sorted set by expiry) keeps at most ``max_entries`` entries, dropping the
ones that expire first. Redis being slow or gone never fails a search: a lookup or write that does
not finish within ``timeout`` counts as a miss.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from moontv.sources.models import SearchPage

log = logging.getLogger("moontv.search")

PREFIX = "cache:search:v1:"
INDEX_KEY = "cache:search:v1"  # sorted set: entry key -> expiry (ms)

# set the entry, index it by expiry, drop expired index members and the earliest-expiring
# entries beyond the bound (with their values)
PUT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  for _, key in ipairs(oldest) do redis.call('DEL', key) end
end
return 1
"""


def entry_key(key: tuple[Any, ...]) -> str:
    return PREFIX + hashlib.sha256(orjson.dumps(key)).hexdigest()[:40]


class SharedPageCache:
    def __init__(
        self,
        client: Callable[[], Any],
        *,
        max_entries: int = 20_000,
        max_value_bytes: int = 256 * 1024,
        timeout: float = 0.5,
        on_lookup: Callable[[bool], None] | None = None,
    ) -> None:
        self._client = client  # the storage's redis.asyncio client, looked up on each use
        self.max_entries = max_entries
        self.max_value_bytes = max_value_bytes
        self.timeout = timeout
        self._on_lookup = on_lookup

    async def get(self, key: tuple[Any, ...]) -> SearchPage | None:
        page = None
        try:
            async with asyncio.timeout(self.timeout):
                raw = await self._client().get(entry_key(key))
            if raw is not None:
                data = orjson.loads(raw)
                page = SearchPage(
                    items=data["items"],
                    raw_count=int(data["raw_count"]),
                    pagecount=int(data["pagecount"]),
                    page=int(data["page"]),
                    extra=data.get("extra") or {},
                )
        except Exception as exc:  # a cache never fails the search it serves
            log.debug("shared search cache lookup failed: %s", exc)
            page = None
        if self._on_lookup is not None:
            self._on_lookup(page is not None)
        return page

    async def put(self, key: tuple[Any, ...], page: SearchPage, ttl: float) -> None:
        if ttl <= 0:
            return
        value = orjson.dumps(
            {
                "items": page.items,
                "raw_count": page.raw_count,
                "pagecount": page.pagecount,
                "page": page.page,
                "extra": page.extra,
            }
        )
        if len(value) > self.max_value_bytes:
            return
        now_ms = int(time.time() * 1000)
        ttl_ms = max(1, int(ttl * 1000))
        name = entry_key(key)
        try:
            async with asyncio.timeout(self.timeout):
                await self._client().eval(
                    PUT, 2, name, INDEX_KEY, value, ttl_ms, now_ms + ttl_ms, now_ms, self.max_entries
                )
        except Exception as exc:
            log.debug("shared search cache write failed: %s", exc)
