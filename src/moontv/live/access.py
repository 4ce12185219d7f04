"""Which live sources a user may use: the search rule applied to live sources.

A per-user allow-list (``enabledLives``, set by an admin) wins; without one, the user's group
(``liveKeys``) restricts; otherwise every enabled source.
"""

from __future__ import annotations

from moontv.config.view import AdminConfigView
from moontv.live.service import LiveSource


def available_lives(view: AdminConfigView, username: str | None) -> list[LiveSource]:
    return [LiveSource.of(entry) for entry in view.available_lives(username)]


def find_live(view: AdminConfigView, username: str | None, key: str) -> LiveSource | None:
    return next((s for s in available_lives(view, username) if s.key == key), None)


def web_live_enabled(view: AdminConfigView) -> bool:
    return view.site.web_live_enabled
