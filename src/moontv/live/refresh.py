"""Refreshing live sources (admin button and the scheduler): reload playlists, record channel
counts in the config (``channelNumber``), re-check channel health, reload guides."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from moontv.config import document
from moontv.config.service import ConfigService
from moontv.live.service import LiveError, LiveService, LiveSource

log = logging.getLogger("moontv.live")


def set_channel_number(config: dict[str, Any], key: str, count: int) -> None:
    for entry in document.lives(config):
        if entry.get("key") == key:
            entry["channelNumber"] = count


async def refresh_sources(
    live: LiveService, config_service: ConfigService, *, keys: set[str] | None = None, health: bool = True
) -> dict[str, dict[str, Any]]:
    """Per source key: ``{channels, alive, dead, error}``. Sources are done one after another."""
    view = await config_service.view()
    if keys is None:
        sources = [LiveSource.of(e) for e in view.enabled_lives()]
    else:
        sources = [LiveSource.of(e) for e in view.lives if e.key in keys]
    report: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for source in sources:
        item: dict[str, Any] = {"channels": 0, "error": ""}
        try:
            parsed = await live.playlist(source, force=True)
            item["channels"] = counts[source.key] = len(parsed.channels)
            if health:
                item.update(await live.check_health(source))
            guide = await live.guide(source, parsed, force=True)
            if guide.error:
                item["epgError"] = guide.error
        except LiveError as exc:
            item["error"] = exc.message
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one broken source never stops the others
            log.exception("live refresh of %s failed", source.key)
            item["error"] = type(exc).__name__
        report[source.key] = item
    if counts:

        def mutate(cfg: dict[str, Any]) -> None:
            for key, count in counts.items():
                set_channel_number(cfg, key, count)

        await config_service.update(mutate)
    return report
