"""One favorite per title: the same film or series found on another source replaces the older entry.

A favorite is keyed ``source+id`` (LunaTV's layout), so switching to another source of the same title and
tapping the heart again used to store the title twice. Titles are the same when their names match after
whitespace and case are ignored and their years do not contradict each other (either one may be empty).
"""

from __future__ import annotations

from typing import Any

from moontv.storage.protocol import Storage
from moontv.userdata.models import Favorite


def same_title(a: dict[str, Any], b: dict[str, Any]) -> bool:
    name_a, name_b = _name(a.get("title")), _name(b.get("title"))
    if not name_a or name_a != name_b:
        return False
    year_a, year_b = str(a.get("year") or "").strip(), str(b.get("year") or "").strip()
    return not year_a or not year_b or year_a == year_b


def _name(value: Any) -> str:
    return "".join(str(value or "").split()).casefold()


async def save_favorite(storage: Storage, user: str, key: str, favorite: Favorite) -> list[str]:
    """Store ``favorite`` under ``key`` and drop the user's other favorites of the same title.

    Returns the keys that were dropped.
    """
    existing = await storage.get_all_favorites(user)
    stored = favorite.stored()
    await storage.set_favorite(user, key, stored)
    dropped = [other for other, entry in existing.items() if other != key and same_title(entry, stored)]
    for other in dropped:
        await storage.delete_favorite(user, other)
    return dropped
