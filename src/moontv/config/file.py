"""The MoonTV ``config.json`` format: ``cache_time``, ``api_site``, ``custom_category``, ``lives``.

Accepted unchanged from MoonTV/LunaTV deployments (unknown keys are kept and ignored).
``lives`` is LunaTV's live TV map: ``{key: {name, url, ua?, epg?}}``. Validation errors name
the offending field, e.g. ``api_site.foo.api``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson


class ConfigFileError(ValueError):
    """config.json is not valid; the message names the field."""


def _http_url(value: Any, where: str, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            raise ConfigFileError(f"{where}: required")
        return ""
    if not isinstance(value, str):
        raise ConfigFileError(f"{where}: must be a string")
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigFileError(f"{where}: must be an http(s) URL, got {value[:80]!r}")
    return value


STREAM_FLAGS = ("adFilter", "proxySegments")


def _stream_options(site: dict[str, Any], where: str) -> dict[str, Any]:
    """Optional per-source playback options (see the Streams section of the README)."""
    out: dict[str, Any] = {}
    for flag in STREAM_FLAGS:
        if flag in site:
            if not isinstance(site[flag], bool):
                raise ConfigFileError(f"{where}.{flag}: must be true or false")
            out[flag] = site[flag]
    agent = site.get("userAgent")
    if agent is not None:
        if not isinstance(agent, str) or len(agent) > 512 or any(c in agent for c in "\r\n"):
            raise ConfigFileError(f"{where}.userAgent: must be one line of at most 512 characters")
        out["userAgent"] = agent
    referer = _http_url(site.get("referer"), f"{where}.referer", required=False)
    if referer:
        out["referer"] = referer
    return out


def validate_config_file(data: Any) -> dict[str, Any]:
    """Check a parsed config.json document; returns a normalised copy."""
    if not isinstance(data, dict):
        raise ConfigFileError("config.json: the top level must be a JSON object")
    out: dict[str, Any] = dict(data)
    if "cache_time" in data:
        cache_time = data["cache_time"]
        if isinstance(cache_time, bool) or not isinstance(cache_time, int) or cache_time < 0:
            raise ConfigFileError("cache_time: must be a non-negative integer (seconds)")
    sites = data.get("api_site", {})
    if sites is None:
        sites = {}
    if not isinstance(sites, dict):
        raise ConfigFileError("api_site: must be an object keyed by source key")
    clean_sites: dict[str, dict[str, str]] = {}
    for key, site in sites.items():
        where = f"api_site.{key}"
        if not key or not isinstance(key, str) or any(c in key for c in "+/ ,"):
            raise ConfigFileError(f"{where}: source key must be non-empty without '+', '/', ',' or spaces")
        if not isinstance(site, dict):
            raise ConfigFileError(f"{where}: must be an object with api and name")
        name = site.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigFileError(f"{where}.name: required")
        entry = {"api": _http_url(site.get("api"), f"{where}.api", required=True), "name": name.strip()}
        detail = _http_url(site.get("detail"), f"{where}.detail", required=False)
        if detail:
            entry["detail"] = detail
        entry.update(_stream_options(site, where))
        clean_sites[key] = entry
    out["api_site"] = clean_sites
    categories = data.get("custom_category", [])
    if categories is None:
        categories = []
    if not isinstance(categories, list):
        raise ConfigFileError("custom_category: must be a list")
    clean_categories = []
    for i, cat in enumerate(categories):
        where = f"custom_category[{i}]"
        if not isinstance(cat, dict):
            raise ConfigFileError(f"{where}: must be an object with type and query")
        if cat.get("type") not in ("movie", "tv"):
            raise ConfigFileError(f"{where}.type: must be 'movie' or 'tv'")
        query = cat.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ConfigFileError(f"{where}.query: required")
        entry = {"type": cat["type"], "query": query.strip()}
        if isinstance(cat.get("name"), str) and cat["name"].strip():
            entry = {"name": cat["name"].strip(), **entry}
        clean_categories.append(entry)
    out["custom_category"] = clean_categories
    out["lives"] = _validate_lives(data.get("lives"))
    return out


def _one_line(value: Any, where: str, limit: int = 512) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or any(c in value for c in "\r\n"):
        raise ConfigFileError(f"{where}: must be one line of at most {limit} characters")
    return value.strip()


def _validate_lives(lives: Any) -> dict[str, dict[str, str]]:
    if lives is None:
        return {}
    if not isinstance(lives, dict):
        raise ConfigFileError("lives: must be an object keyed by live source key")
    clean: dict[str, dict[str, str]] = {}
    for key, live in lives.items():
        where = f"lives.{key}"
        if not key or not isinstance(key, str) or len(key) > 64 or any(c in key for c in "+/ ,:"):
            raise ConfigFileError(f"{where}: key must be non-empty without '+', '/', ',', ':' or spaces")
        if not isinstance(live, dict):
            raise ConfigFileError(f"{where}: must be an object with name and url")
        name = live.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigFileError(f"{where}.name: required")
        entry = {"name": name.strip()[:100], "url": _http_url(live.get("url"), f"{where}.url", required=True)}
        ua = _one_line(live.get("ua"), f"{where}.ua")
        if ua:
            entry["ua"] = ua
        epg = _one_line(live.get("epg"), f"{where}.epg", 2048)
        if epg:
            entry["epg"] = epg
        clean[key] = entry
    return clean


def parse_config_text(text: str | bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigFileError(f"config.json: invalid JSON ({exc})") from None
    return validate_config_file(data)


def load_config_file(path: Path) -> tuple[dict[str, Any], str]:
    """Read and validate the file; a missing file is an empty config. Returns (config, raw text)."""
    if not path.exists():
        empty = {"cache_time": 7200, "api_site": {}, "custom_category": []}
        return empty, orjson.dumps(empty, option=orjson.OPT_INDENT_2).decode()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc})") from None
    return parse_config_text(text), text
