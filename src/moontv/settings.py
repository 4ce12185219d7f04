"""Process settings from the environment (MoonTV's variable names and clean MOONTV_* names).

One ``Settings`` object is built at start-up and injected everywhere; nothing else reads
``os.environ``. MoonTV's names are kept so existing compose files work unchanged; where both
spellings are set, the ``MOONTV_*`` name wins.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from moontv.auth.proxies import TrustedProxies

DEFAULT_ANNOUNCEMENT = (
    "本网站仅提供影视信息搜索服务，所有内容均来自第三方网站。本站不存储任何视频资源，"
    "不对任何内容的准确性、合法性、完整性负责。"
)

StorageKind = Literal["sqlite", "redis", "kvrocks"]


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class SettingsError(Exception):
    """Settings could not be loaded; the message names the offending variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, case_sensitive=True, secrets_dir=None
    )

    username: str = Field("admin", validation_alias=_env("MOONTV_USERNAME", "USERNAME"))
    password: str = Field("", validation_alias=_env("MOONTV_PASSWORD", "PASSWORD"))
    storage_type: StorageKind = Field(
        "sqlite", validation_alias=_env("MOONTV_STORAGE", "NEXT_PUBLIC_STORAGE_TYPE")
    )
    redis_url: str = Field("", validation_alias=_env("MOONTV_REDIS_URL", "REDIS_URL"))
    kvrocks_url: str = Field("", validation_alias=_env("MOONTV_KVROCKS_URL", "KVROCKS_URL"))

    site_name: str = Field(
        "MoonTV", validation_alias=_env("MOONTV_SITE_NAME", "NEXT_PUBLIC_SITE_NAME", "SITE_NAME")
    )
    announcement: str = Field(
        DEFAULT_ANNOUNCEMENT, validation_alias=_env("MOONTV_ANNOUNCEMENT", "ANNOUNCEMENT")
    )
    enable_register: bool = Field(
        False, validation_alias=_env("MOONTV_ENABLE_REGISTER", "NEXT_PUBLIC_ENABLE_REGISTER")
    )
    search_max_page: int = Field(
        5, ge=1, le=50, validation_alias=_env("MOONTV_SEARCH_MAX_PAGE", "NEXT_PUBLIC_SEARCH_MAX_PAGE")
    )
    disable_yellow_filter: bool = Field(
        False,
        validation_alias=_env("MOONTV_DISABLE_YELLOW_FILTER", "NEXT_PUBLIC_DISABLE_YELLOW_FILTER"),
    )
    douban_proxy_type: str = Field(
        "direct", validation_alias=_env("MOONTV_DOUBAN_PROXY_TYPE", "NEXT_PUBLIC_DOUBAN_PROXY_TYPE")
    )
    douban_proxy: str = Field("", validation_alias=_env("MOONTV_DOUBAN_PROXY", "NEXT_PUBLIC_DOUBAN_PROXY"))
    douban_image_proxy_type: str = Field(
        "server",
        validation_alias=_env("MOONTV_DOUBAN_IMAGE_PROXY_TYPE", "NEXT_PUBLIC_DOUBAN_IMAGE_PROXY_TYPE"),
    )
    douban_image_proxy: str = Field(
        "", validation_alias=_env("MOONTV_DOUBAN_IMAGE_PROXY", "NEXT_PUBLIC_DOUBAN_IMAGE_PROXY")
    )
    danmu_api_base_url: str = Field(
        "", validation_alias=_env("MOONTV_DANMU_API_BASE_URL", "NEXT_PUBLIC_DANMU_API_BASE_URL")
    )
    tvbox_enabled: bool = Field(False, validation_alias=_env("MOONTV_TVBOX_ENABLED", "TVBOX_ENABLED"))

    host: str = Field("", validation_alias=_env("MOONTV_HOST", "HOSTNAME"))
    port: int = Field(3000, ge=1, le=65535, validation_alias=_env("MOONTV_PORT", "PORT"))
    config_file: Path = Field(Path("config.json"), validation_alias=_env("MOONTV_CONFIG"))
    data_dir: Path = Field(Path("data"), validation_alias=_env("MOONTV_DATA_DIR"))
    secret_key: str = Field("", validation_alias=_env("MOONTV_SECRET_KEY"))

    upstream_timeout: float = Field(8.0, gt=0, le=120, validation_alias=_env("MOONTV_UPSTREAM_TIMEOUT"))
    upstream_max_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, validation_alias=_env("MOONTV_UPSTREAM_MAX_BYTES")
    )
    search_cache: bool = Field(True, validation_alias=_env("MOONTV_SEARCH_CACHE"))
    # with Redis/Kvrocks storage: the search cache's second level, shared by every replica
    search_shared_cache: bool = Field(True, validation_alias=_env("MOONTV_SEARCH_SHARED_CACHE"))
    session_days: int = Field(7, ge=1, le=365, validation_alias=_env("MOONTV_SESSION_DAYS"))
    login_rate_limit: int = Field(10, ge=1, validation_alias=_env("MOONTV_LOGIN_RATE_LIMIT"))
    # Forwarded headers are believed only from these peers (CIDRs); see moontv.auth.proxies.
    trusted_proxies: str = Field("", validation_alias=_env("MOONTV_TRUSTED_PROXIES"))
    trust_proxy: bool = Field(False, validation_alias=_env("MOONTV_TRUST_PROXY"))
    login_user_rate_limit: int = Field(10, ge=1, validation_alias=_env("MOONTV_LOGIN_USER_RATE_LIMIT"))
    login_global_rate_limit: int = Field(100, ge=1, validation_alias=_env("MOONTV_LOGIN_GLOBAL_RATE_LIMIT"))
    log_format: Literal["text", "json"] = Field("text", validation_alias=_env("MOONTV_LOG_FORMAT"))
    log_level: str = Field("info", validation_alias=_env("MOONTV_LOG_LEVEL"))
    access_log: bool = Field(False, validation_alias=_env("MOONTV_ACCESS_LOG"))
    # SIGTERM: /api/ready answers 503 for drain_seconds while requests are still served (so a load
    # balancer's health check takes the replica out first), then in-flight requests and streams get
    # up to shutdown_grace seconds to finish.
    drain_seconds: float = Field(0.0, ge=0, le=120, validation_alias=_env("MOONTV_DRAIN_SECONDS"))
    shutdown_grace: float = Field(8.0, ge=0, le=300, validation_alias=_env("MOONTV_SHUTDOWN_GRACE"))
    metrics_token: str = Field("", validation_alias=_env("MOONTV_METRICS_TOKEN"))
    metrics_port: int = Field(0, ge=0, le=65535, validation_alias=_env("MOONTV_METRICS_PORT"))

    # -- admin, Douban/Bangumi, TVBox, scheduled refresh --------------------------------------
    douban_base: str = Field("https://movie.douban.com", validation_alias=_env("MOONTV_DOUBAN_BASE"))
    douban_m_base: str = Field("https://m.douban.com", validation_alias=_env("MOONTV_DOUBAN_M_BASE"))
    bangumi_base: str = Field("https://api.bgm.tv", validation_alias=_env("MOONTV_BANGUMI_BASE"))
    douban_cache_ttl: int = Field(3600, ge=0, le=7 * 86400, validation_alias=_env("MOONTV_DOUBAN_CACHE_TTL"))
    douban_timeout: float = Field(10.0, gt=0, le=60, validation_alias=_env("MOONTV_DOUBAN_TIMEOUT"))
    cron_token: str = Field("", validation_alias=_env("MOONTV_CRON_TOKEN"))
    refresh_interval: int = Field(3600, ge=0, le=7 * 86400, validation_alias=_env("MOONTV_REFRESH_INTERVAL"))
    refresh_concurrency: int = Field(4, ge=1, le=64, validation_alias=_env("MOONTV_REFRESH_CONCURRENCY"))
    refresh_budget: float = Field(600.0, gt=0, le=6 * 3600, validation_alias=_env("MOONTV_REFRESH_BUDGET"))
    backup_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, validation_alias=_env("MOONTV_BACKUP_MAX_BYTES"))

    # -- streams: SSRF guard, m3u8/segment/image proxies, ad filter, source probe -------------
    # CIDRs or host names that may be fetched although private (LAN-only CMS/stream hosts).
    allow_private_upstreams: str = Field("", validation_alias=_env("MOONTV_ALLOW_PRIVATE_UPSTREAMS"))
    # "*" = any public host (private addresses are refused by the guard); a list narrows it down.
    image_proxy_hosts: str = Field("*", validation_alias=_env("MOONTV_IMAGE_PROXY_HOSTS"))
    image_proxy_host_rate: float = Field(
        10.0, ge=0, le=10_000, validation_alias=_env("MOONTV_IMAGE_PROXY_HOST_RATE")
    )
    image_proxy_host_burst: int = Field(
        60, ge=1, le=100_000, validation_alias=_env("MOONTV_IMAGE_PROXY_HOST_BURST")
    )
    image_proxy_max_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024, validation_alias=_env("MOONTV_IMAGE_PROXY_MAX_BYTES")
    )
    image_cache_mb: int = Field(256, ge=0, le=100_000, validation_alias=_env("MOONTV_IMAGE_CACHE_MB"))
    stream_timeout: float = Field(10.0, gt=0, le=120, validation_alias=_env("MOONTV_STREAM_TIMEOUT"))
    ad_filter: bool = Field(True, validation_alias=_env("MOONTV_AD_FILTER"))
    probe_concurrency: int = Field(4, ge=1, le=64, validation_alias=_env("MOONTV_PROBE_CONCURRENCY"))

    # -- server-side downloads (downloads/) ------------------------------------------------------
    downloads_enabled: bool = Field(True, validation_alias=_env("MOONTV_DOWNLOADS"))
    download_quota_mb: int = Field(
        4096, ge=1, le=10_000_000, validation_alias=_env("MOONTV_DOWNLOAD_QUOTA_MB")
    )
    download_disk_mb: int = Field(
        20480, ge=1, le=100_000_000, validation_alias=_env("MOONTV_DOWNLOAD_DISK_MB")
    )
    download_concurrency: int = Field(4, ge=1, le=16, validation_alias=_env("MOONTV_DOWNLOAD_CONCURRENCY"))
    download_tasks: int = Field(2, ge=1, le=8, validation_alias=_env("MOONTV_DOWNLOAD_TASKS"))
    # -- resource limits (docs/security.md, "Resource model": what each protects) ---------------
    playlist_max_bytes: int = Field(
        4 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024, validation_alias=_env("MOONTV_PLAYLIST_MAX_BYTES")
    )
    playlist_max_line: int = Field(
        16 * 1024, ge=1024, le=1024 * 1024, validation_alias=_env("MOONTV_PLAYLIST_MAX_LINE")
    )
    playlist_max_segments: int = Field(
        50_000, ge=100, le=1_000_000, validation_alias=_env("MOONTV_PLAYLIST_MAX_SEGMENTS")
    )
    ads_cache_mb: int = Field(16, ge=1, le=4096, validation_alias=_env("MOONTV_ADS_CACHE_MB"))
    probe_per_user: int = Field(2, ge=1, le=64, validation_alias=_env("MOONTV_PROBE_PER_USER"))
    probe_queue_wait: float = Field(2.0, ge=0, le=60, validation_alias=_env("MOONTV_PROBE_QUEUE_WAIT"))
    search_cache_mb: int = Field(64, ge=1, le=16 * 1024, validation_alias=_env("MOONTV_SEARCH_CACHE_MB"))
    search_rate_limit: int = Field(30, ge=1, le=100_000, validation_alias=_env("MOONTV_SEARCH_RATE_LIMIT"))
    search_source_concurrency: int = Field(
        4, ge=1, le=64, validation_alias=_env("MOONTV_SEARCH_SOURCE_CONCURRENCY")
    )
    search_total_concurrency: int = Field(
        64, ge=1, le=4096, validation_alias=_env("MOONTV_SEARCH_TOTAL_CONCURRENCY")
    )
    search_page_budget: int = Field(100, ge=1, le=100_000, validation_alias=_env("MOONTV_SEARCH_PAGE_BUDGET"))
    max_play_records: int = Field(2000, ge=1, le=1_000_000, validation_alias=_env("MOONTV_MAX_PLAY_RECORDS"))
    max_favorites: int = Field(2000, ge=1, le=1_000_000, validation_alias=_env("MOONTV_MAX_FAVORITES"))
    hsts_max_age: int = Field(15_552_000, ge=0, le=63_072_000, validation_alias=_env("MOONTV_HSTS_MAX_AGE"))
    max_skip_configs: int = Field(2000, ge=1, le=1_000_000, validation_alias=_env("MOONTV_MAX_SKIP_CONFIGS"))

    @field_validator("allow_private_upstreams")
    @classmethod
    def _allow_private(cls, value: str) -> str:
        from moontv.streams.addresses import parse_allow_list

        parse_allow_list(value)  # raises ValueError naming the bad entry
        return value.strip()

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        from moontv.auth.proxies import parse_networks

        parse_networks(value)  # raises ValueError naming the bad entry
        return value.strip()

    @property
    def proxies(self) -> TrustedProxies:
        from moontv.auth.proxies import trusted_proxies

        return trusted_proxies(self.trusted_proxies, self.trust_proxy)

    @field_validator("storage_type", mode="before")
    @classmethod
    def _storage(cls, raw: object) -> str:
        value = str(raw).strip().lower() or "sqlite"
        # MoonTV's browser-only mode has no server storage; we keep the name working by
        # storing on the embedded database instead (single shared password still logs in).
        if value in ("localstorage", "sqlite", "d1"):
            return "sqlite"
        if value in ("redis", "kvrocks"):
            return value
        if value == "upstash":
            raise ValueError("upstash is not supported; use redis (Upstash also speaks the Redis protocol)")
        raise ValueError(f"unknown storage type {value!r} (use sqlite, redis or kvrocks)")

    @property
    def storage_kind(self) -> StorageKind:
        return self.storage_type

    @property
    def storage_url(self) -> str | None:
        if self.storage_kind == "kvrocks":
            return self.kvrocks_url or self.redis_url or None
        if self.storage_kind == "redis":
            return self.redis_url or self.kvrocks_url or None
        return None

    @property
    def bind_host(self) -> str:
        """HOSTNAME is also the container's host name under Docker: only use it if it is an address."""
        candidate = self.host.strip()
        if candidate == "localhost":
            return "127.0.0.1"
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            return "127.0.0.1"
        return candidate

    def check(self) -> None:
        if self.storage_kind in ("redis", "kvrocks") and not self.storage_url:
            name = "KVROCKS_URL" if self.storage_kind == "kvrocks" else "REDIS_URL"
            raise SettingsError(f"{name}: required when NEXT_PUBLIC_STORAGE_TYPE={self.storage_kind}")


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides (CLI flags, tests)."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    settings.check()
    return settings


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = str(first["loc"][0]) if first["loc"] else "settings"
    name = loc
    for field_name, info in Settings.model_fields.items():
        choices = info.validation_alias.choices if isinstance(info.validation_alias, AliasChoices) else []
        if loc == field_name or loc in choices:
            present = [str(c) for c in choices if str(c) in os.environ]
            name = present[0] if present else (str(choices[-1]) if choices else field_name)
            break
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"invalid setting {name}: {message}"
