"""Build the download manager for the app state (called from ``build_state``)."""

from __future__ import annotations

from typing import Any

from moontv.config.service import ConfigService
from moontv.downloads.manager import MB, DownloadLimits, DownloadManager
from moontv.downloads.store import TaskStore
from moontv.settings import Settings
from moontv.streams.service import SourceOptions, StreamService, source_options


def build_downloads(
    settings: Settings, streams: StreamService, config: ConfigService, registry: Any
) -> DownloadManager:
    async def options(source: str) -> SourceOptions:
        return source_options(await config.view(), source, ad_default=settings.ad_filter)

    limits = DownloadLimits(
        user_quota=settings.download_quota_mb * MB,
        disk_budget=settings.download_disk_mb * MB,
        segment_concurrency=settings.download_concurrency,
        active_tasks=settings.download_tasks,
    )
    return DownloadManager(TaskStore(settings.data_dir / "downloads"), streams, options, limits, registry)
