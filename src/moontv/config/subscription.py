"""Config subscription: a URL serving MoonTV config JSON (plain or Base58), merged or overwritten.

Only ``api_site`` is imported. Imported sources are written into the stored config file's
``api_site`` too, so they keep ``from: "config"`` on later reads (MoonTV re-labelled them
"custom" on the next read, which made a later "overwrite" import leave them behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from moontv.config.admin import config_file_text
from moontv.config.file import ConfigFileError, parse_config_text, validate_config_file
from moontv.config.service import ConfigService
from moontv.errors import ServiceError

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(BASE58_ALPHABET)}
MAX_SUBSCRIPTION_BYTES = 2 * 1024 * 1024
# Base58 is a base conversion: above this many characters a body is not tried as Base58 (it is
# ~190 KB of JSON, far more than a sources list needs). Decoding runs in a worker thread.
MAX_BASE58_CHARS = 256 * 1024
_BASE58_CHUNK = 9  # 58**9 < 2**53: chunk values stay small ints
FAILURE_BACKOFF = 60  # first retry after a failed check, doubling per failure up to the interval
DEFAULT_INTERVAL = 86400
MIN_INTERVAL = 60
IMPORT_MODES = ("merge", "overwrite")


class SubscriptionError(ServiceError):
    """The subscription could not be fetched or is not a usable config; ``message`` is for users."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status, message)


def base58_decode(text: str) -> bytes:
    """Bitcoin-alphabet Base58 -> bytes; ValueError on any other character (no trimming).

    Chunks of digits are combined pairwise (divide and conquer), so the big-integer work is
    subquadratic (Karatsuba) instead of one multiply-add per character over a growing number.
    """
    if not text:
        raise ValueError("empty")
    if len(text) > MAX_BASE58_CHARS:
        raise ValueError("too long for base58")
    chunks: list[tuple[int, int]] = []
    start = len(text) % _BASE58_CHUNK or _BASE58_CHUNK
    pos = 0
    while pos < len(text):
        end = start if pos == 0 else pos + _BASE58_CHUNK
        value = 0
        for char in text[pos:end]:
            digit = _BASE58_INDEX.get(char)
            if digit is None:
                raise ValueError(f"not base58: {char!r}")
            value = value * 58 + digit
        chunks.append((value, end - pos))
        pos = end
    powers: dict[int, int] = {}
    while len(chunks) > 1:
        merged = []
        for i in range(0, len(chunks) - 1, 2):
            (high, _high_len), (low, low_len) = chunks[i], chunks[i + 1]
            scale = powers.get(low_len)
            if scale is None:
                scale = powers[low_len] = 58**low_len
            merged.append((high * scale + low, _high_len + low_len))
        if len(chunks) % 2:
            merged.append(chunks[-1])
        chunks = merged
    number = chunks[0][0]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + body


def base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(BASE58_ALPHABET[rem])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(out))


def decode_subscription(text: str) -> dict[str, dict[str, str]]:
    """The ``api_site`` of a subscription body (Base58 JSON first, then plain JSON)."""
    data: Any = None
    try:
        data = orjson.loads(base58_decode(text).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, orjson.JSONDecodeError):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise SubscriptionError("订阅内容不是合法的 JSON 或 Base58 编码的 JSON") from None
    if not isinstance(data, dict):
        raise SubscriptionError("订阅内容必须是 JSON 对象")
    try:
        checked = validate_config_file({"api_site": data.get("api_site") or {}})
    except ConfigFileError as exc:
        raise SubscriptionError(f"订阅配置无效: {exc}") from None
    sites: dict[str, dict[str, str]] = checked["api_site"]
    return sites


def apply_import(config: dict[str, Any], sites: dict[str, dict[str, str]], mode: str) -> int:
    """Mutate ``config`` (a merged AdminConfig) with the subscription's sources; returns the count."""
    try:
        file_cfg = parse_config_text(config.get("ConfigFile") or "{}")
    except ConfigFileError:
        file_cfg = {"api_site": {}, "custom_category": []}
    if mode == "overwrite":
        config["SourceConfig"] = []
        file_cfg["api_site"] = {}
    by_key = {s["key"]: s for s in config["SourceConfig"]}
    for key, site in sites.items():
        entry = by_key.get(key)
        if entry is None:
            entry = {"key": key, "disabled": False}
            config["SourceConfig"].append(entry)
            by_key[key] = entry
        entry["name"] = site["name"]
        entry["api"] = site["api"]
        entry["detail"] = site.get("detail", "")
        entry["from"] = "config"
        file_cfg["api_site"][key] = dict(site)
    config["ConfigFile"] = config_file_text(file_cfg)
    return len(sites)


def check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise SubscriptionError("订阅地址未提供")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
        raise SubscriptionError("订阅地址必须是 http(s) URL")
    return url


def subscription_settings(config: dict[str, Any]) -> dict[str, Any]:
    sub = config.get("SubscriptionConfig")
    return dict(sub) if isinstance(sub, dict) else {}


def is_due(sub: dict[str, Any], now: float) -> bool:
    """Auto-update on and the interval passed; after failures, also the backoff since the last try."""
    if not sub.get("autoUpdate") or not sub.get("subscriptionUrl"):
        return False
    last = sub.get("lastUpdated")
    interval = sub.get("updateInterval")
    interval = interval if isinstance(interval, int) and interval >= MIN_INTERVAL else DEFAULT_INTERVAL
    if isinstance(last, int | float) and now - last <= interval:
        return False
    failures = sub.get("failures")
    checked = sub.get("lastChecked")
    if isinstance(failures, int) and failures > 0 and isinstance(checked, int | float):
        backoff = min(interval, FAILURE_BACKOFF * 2 ** min(failures - 1, 20))
        return now - checked > backoff
    return True


@dataclass(slots=True)
class ImportResult:
    imported: int
    mode: str


class SubscriptionService:
    """Fetches (through the SSRF-guarded client) and imports a subscription into the config."""

    def __init__(
        self,
        config: ConfigService,
        http: Callable[[], httpx.AsyncClient] | httpx.AsyncClient,
        *,
        timeout: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._http = http
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()

    def _client(self) -> httpx.AsyncClient:
        return self._http if isinstance(self._http, httpx.AsyncClient) else self._http()

    async def fetch(self, url: str) -> str:
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._client().stream("GET", url, headers={"Accept": "application/json, text/plain"}) as resp,
            ):
                if not 200 <= resp.status_code < 300:
                    raise SubscriptionError(f"获取订阅失败: HTTP {resp.status_code}", 502)
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_SUBSCRIPTION_BYTES:
                        raise SubscriptionError("订阅内容过大", 502)
        except TimeoutError:
            raise SubscriptionError("获取订阅失败: 请求超时", 502) from None
        except httpx.HTTPError as exc:
            reason = getattr(exc, "reason", None)  # the SSRF guard's refusal (BlockedURL)
            if reason:
                raise SubscriptionError(f"订阅地址被拒绝: {reason}", 400) from None
            raise SubscriptionError(f"获取订阅失败: {type(exc).__name__}", 502) from None
        return bytes(body).decode("utf-8", "replace")

    async def import_now(
        self, url: str | None = None, mode: str | None = None, *, expected_version: int | None = None
    ) -> ImportResult:
        async with self._lock:
            sub = subscription_settings((await self._config.get()).document)
            url = check_url(url or sub.get("subscriptionUrl"))
            mode = mode or sub.get("importMode") or "merge"
            if mode not in IMPORT_MODES:
                raise SubscriptionError("importMode 必须是 overwrite 或 merge")
            try:
                sites = await asyncio.to_thread(decode_subscription, await self.fetch(url))
            except SubscriptionError as exc:
                await self._record_error(exc.message)
                raise
            now = int(self._clock())
            count = 0

            def mutate(config: dict[str, Any]) -> None:
                nonlocal count
                count = apply_import(config, sites, mode)
                current = subscription_settings(config)
                current["lastUpdated"] = now
                current["lastError"] = ""
                current.pop("failures", None)
                current.setdefault("subscriptionUrl", url)
                config["SubscriptionConfig"] = current

            await self._config.update(mutate, expected_version=expected_version)
            return ImportResult(count, mode)

    async def _record_error(self, message: str) -> None:
        def mutate(config: dict[str, Any]) -> None:
            current = subscription_settings(config)
            current["lastError"] = message[:300]
            current["lastChecked"] = int(self._clock())
            failures = current.get("failures")
            current["failures"] = (failures if isinstance(failures, int) and failures > 0 else 0) + 1
            config["SubscriptionConfig"] = current

        with contextlib.suppress(Exception):  # recording a failure must not hide the failure itself
            await self._config.update(mutate)

    async def check(self) -> ImportResult | None:
        """Import when auto-update is on and the interval has passed; None when not due."""
        sub = subscription_settings((await self._config.get()).document)
        if not is_due(sub, self._clock()):
            return None
        return await self.import_now()

    @staticmethod
    def clean_settings(body: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        """Validate an ``update`` body into new SubscriptionConfig settings."""
        out = dict(current)
        url = body.get("subscriptionUrl", current.get("subscriptionUrl", ""))
        if url in (None, ""):
            out["subscriptionUrl"] = ""
        else:
            out["subscriptionUrl"] = check_url(url)
        auto = body.get("autoUpdate", current.get("autoUpdate", False))
        if not isinstance(auto, bool):
            raise SubscriptionError("autoUpdate 必须是布尔值")
        out["autoUpdate"] = auto
        interval = body.get("updateInterval", current.get("updateInterval", DEFAULT_INTERVAL))
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval != interval:
            raise SubscriptionError("updateInterval 必须是数字（秒）")
        if interval < MIN_INTERVAL or interval > 365 * 86400:
            raise SubscriptionError(f"updateInterval 必须在 {MIN_INTERVAL} 秒到 365 天之间")
        out["updateInterval"] = int(interval)
        mode = body.get("importMode", current.get("importMode", "merge"))
        if mode not in IMPORT_MODES:
            raise SubscriptionError("importMode 必须是 overwrite 或 merge")
        out["importMode"] = mode
        return out
