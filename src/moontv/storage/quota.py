"""Per-user quotas on stored lists, checked just before a write that would add a new entry.

Overwriting an existing entry is always allowed (progress updates must keep working at the
cap). Two concurrent first writes may overshoot by the number of in-flight writes; the cap
still bounds growth, which is what it is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = {"pr": "播放记录", "fav": "收藏", "skip": "跳过片头片尾设置"}


@dataclass(frozen=True, slots=True)
class Quotas:
    play_records: int = 2000
    favorites: int = 2000
    skip_configs: int = 2000

    def limit(self, kind: str) -> int:
        return {"pr": self.play_records, "fav": self.favorites, "skip": self.skip_configs}[kind]


class QuotaExceeded(Exception):
    def __init__(self, kind: str, limit: int) -> None:
        super().__init__(f"{KINDS[kind]}已达上限（{limit} 条），请先删除一些")
        self.kind = kind
        self.limit = limit


async def check_room(storage: Any, quotas: Quotas, user: str, kind: str, key: str) -> None:
    """Raise QuotaExceeded when ``key`` is new and ``user`` already has the maximum of ``kind``."""
    limit = quotas.limit(kind)
    if await storage.count_user_items(user, kind) < limit:
        return
    getter = {"pr": storage.get_play_record, "fav": storage.get_favorite, "skip": storage.get_skip_config}[
        kind
    ]
    if await getter(user, key) is None:
        raise QuotaExceeded(kind, limit)
