"""Which live sources a user may use: the search rule applied to live sources.

A per-user allow-list (``enabledLives``, set by an admin) wins; without one, the user's group
(``liveKeys``) restricts; otherwise every enabled source.
"""

from __future__ import annotations

from typing import Any

from moontv.config.admin import find_user
from moontv.live.service import LiveSource, enabled_live_sources


def available_lives(config: dict[str, Any], username: str | None) -> list[LiveSource]:
    sources = enabled_live_sources(config)
    if not username:
        return sources
    user = find_user(config, username)
    personal = user.get("enabledLives") if user else None
    if isinstance(personal, list) and personal:
        return [s for s in sources if s.key in set(personal)]
    groups = config["UserConfig"].get("Groups") or []
    if not user or not user.get("group") or not groups:
        return sources
    group = next((g for g in groups if g.get("name") == user["group"]), None)
    if group is None or not isinstance(group.get("liveKeys"), list):
        return sources
    allowed = set(group["liveKeys"])
    return [s for s in sources if s.key in allowed]


def find_live(config: dict[str, Any], username: str | None, key: str) -> LiveSource | None:
    return next((s for s in available_lives(config, username) if s.key == key), None)


def web_live_enabled(config: dict[str, Any]) -> bool:
    return config["SiteConfig"].get("WebLiveEnabled") is not False
