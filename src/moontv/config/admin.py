"""The AdminConfig document (MoonTV wire shape) and its merge rules.

The stored document is merged on every read with the config file text it carries
(``ConfigFile``) and with environment defaults, exactly as MoonTV does, so data written by
MoonTV/LunaTV reads the same here. Functions are pure: they take and return plain dicts.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from moontv.config.file import ConfigFileError, parse_config_text
from moontv.config.view import DEFAULT_CACHE_TIME
from moontv.settings import Settings


def site_defaults(settings: Settings) -> dict[str, Any]:
    return {
        "SiteName": settings.site_name,
        "Announcement": settings.announcement,
        "SearchDownstreamMaxPage": settings.search_max_page,
        "SiteInterfaceCacheTime": DEFAULT_CACHE_TIME,
        "DoubanProxyType": settings.douban_proxy_type,
        "DoubanProxy": settings.douban_proxy,
        "DoubanImageProxyType": settings.douban_image_proxy_type,
        "DoubanImageProxy": settings.douban_image_proxy,
        "DisableYellowFilter": settings.disable_yellow_filter,
        "DanmakuApiBaseUrl": settings.danmu_api_base_url,
        "TVBoxEnabled": settings.tvbox_enabled,
        "TVBoxPassword": "",
        "WebLiveEnabled": True,  # the browser's /live page and its stream proxy (TV apps unaffected)
    }


def initial_config(settings: Settings, file_text: str, storage_users: list[str]) -> dict[str, Any]:
    """First-run document: config file sources, every stored user, the owner first."""
    users = [{"username": u, "role": "user"} for u in storage_users if u != settings.username]
    if settings.username:
        users.insert(0, {"username": settings.username, "role": "owner"})
    config = {
        "ConfigFile": file_text,
        "SiteConfig": site_defaults(settings),
        "UserConfig": {"AllowRegister": settings.enable_register, "Users": users, "Groups": []},
        "SourceConfig": [],
        "CustomCategories": [],
    }
    return merge(config, settings)


class DocumentError(ValueError):
    """An AdminConfig document from outside (a backup) is not usable; ``where`` names the section."""

    def __init__(self, where: str = "") -> None:
        super().__init__(where or "document")
        self.where = where


def check_document(raw: Any, settings: Settings) -> dict[str, Any]:
    """``raw`` if it is an AdminConfig document this server can read (sections of the right type)."""
    if not isinstance(raw, dict):
        raise DocumentError()
    for name, kind in (
        ("SiteConfig", dict),
        ("UserConfig", dict),
        ("SourceConfig", list),
        ("CustomCategories", list),
        ("ConfigFile", str),
    ):
        if name in raw and raw[name] is not None and not isinstance(raw[name], kind):
            raise DocumentError(name)
    try:
        merge(raw, settings)
    except Exception:
        raise DocumentError() from None
    return raw


def _file_part(config: dict[str, Any]) -> dict[str, Any]:
    text = config.get("ConfigFile")
    if not isinstance(text, str) or not text.strip():
        return {"api_site": {}, "custom_category": [], "lives": {}}
    try:
        return parse_config_text(text)
    except ConfigFileError:
        # A broken stored file never takes the site down: its sources just stay as they are.
        return {"api_site": {}, "custom_category": [], "lives": {}}


def merge(stored: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """MoonTV's per-read merge: env fallbacks, file sources/categories, owner enforcement."""
    config = copy.deepcopy(stored) if isinstance(stored, dict) else {}
    site = config.get("SiteConfig") if isinstance(config.get("SiteConfig"), dict) else {}
    defaults = site_defaults(settings)
    for key, value in defaults.items():
        current = site.get(key)
        if isinstance(value, bool):
            if not isinstance(current, bool):
                site[key] = value
        elif current in (None, "") or (isinstance(value, int) and not isinstance(current, int)):
            site[key] = value
    config["SiteConfig"] = site

    user_config = config.get("UserConfig") if isinstance(config.get("UserConfig"), dict) else {}
    if not isinstance(user_config.get("AllowRegister"), bool):
        user_config["AllowRegister"] = settings.enable_register
    if not isinstance(user_config.get("Users"), list):
        user_config["Users"] = []
    if not isinstance(user_config.get("Groups"), list):
        user_config["Groups"] = []
    config["UserConfig"] = user_config

    file_cfg = _file_part(config)
    config["SourceConfig"] = _merge_sources(config.get("SourceConfig"), file_cfg["api_site"])
    config["CustomCategories"] = _merge_categories(
        config.get("CustomCategories"), file_cfg["custom_category"]
    )
    config["LiveConfig"] = _merge_lives(config.get("LiveConfig"), file_cfg.get("lives") or {})
    if isinstance(file_cfg.get("cache_time"), int):
        site["SiteInterfaceCacheTime"] = file_cfg["cache_time"]
    _enforce_owner(user_config, settings.username)
    return config


def _merge_sources(current: Any, file_sites: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    sources = (
        [dict(s) for s in current if isinstance(s, dict) and s.get("key")]
        if isinstance(current, list)
        else []
    )
    by_key = {s["key"]: s for s in sources}
    for key, site in file_sites.items():
        entry = by_key.get(key)
        if entry is None:
            entry = {"key": key, "name": site["name"], "api": site["api"], "disabled": False}
            sources.append(entry)
            by_key[key] = entry
        entry["name"] = site["name"]
        entry["api"] = site["api"]
        entry["detail"] = site.get("detail", "")
        entry["from"] = "config"
        for option in ("adFilter", "proxySegments", "userAgent", "referer"):
            if option in site:
                entry[option] = site[option]
    for entry in sources:
        if entry["key"] not in file_sites:
            entry["from"] = "custom"
        entry.setdefault("disabled", False)
    return sources


def _merge_lives(current: Any, file_lives: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """LunaTV's ``LiveConfig``: file entries win for name/url/ua/epg; admin-added ones stay."""
    lives = (
        [dict(s) for s in current if isinstance(s, dict) and isinstance(s.get("key"), str) and s.get("key")]
        if isinstance(current, list)
        else []
    )
    by_key = {s["key"]: s for s in lives}
    for key, live in file_lives.items():
        entry = by_key.get(key)
        if entry is None:
            entry = {"key": key, "disabled": False, "channelNumber": 0}
            lives.append(entry)
            by_key[key] = entry
        entry.update(name=live["name"], url=live["url"], ua=live.get("ua", ""), epg=live.get("epg", ""))
        entry["from"] = "config"
    for entry in lives:
        if entry["key"] not in file_lives:
            entry["from"] = "custom"
        for name in ("name", "url", "ua", "epg"):
            if not isinstance(entry.get(name), str):
                entry[name] = entry["key"] if name == "name" else ""
        if not isinstance(entry.get("disabled"), bool):
            entry["disabled"] = False
        if isinstance(entry.get("channelNumber"), bool) or not isinstance(entry.get("channelNumber"), int):
            entry["channelNumber"] = 0
    return lives


def _merge_categories(current: Any, file_categories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    categories = [dict(c) for c in current if isinstance(c, dict)] if isinstance(current, list) else []
    index = {(c.get("query"), c.get("type")): c for c in categories}
    file_ids = set()
    for cat in file_categories:
        ident = (cat["query"], cat["type"])
        file_ids.add(ident)
        entry = index.get(ident)
        if entry is None:
            entry = {**cat, "from": "config", "disabled": False}
            categories.append(entry)
            index[ident] = entry
        elif entry.get("from") == "config":
            entry.update(cat)
            entry["disabled"] = False
    for entry in categories:
        if (entry.get("query"), entry.get("type")) not in file_ids:
            entry["from"] = "custom"
    return categories


def _enforce_owner(user_config: dict[str, Any], owner: str) -> None:
    users = [u for u in user_config["Users"] if isinstance(u, dict) and isinstance(u.get("username"), str)]
    seen: set[str] = set()
    unique = []
    for user in users:
        if user["username"] in seen:
            continue
        seen.add(user["username"])
        if user.get("role") == "owner" and user["username"] != owner:
            user["role"] = "user"
        if user.get("role") not in ("user", "admin", "owner"):
            user["role"] = "user"
        unique.append(user)
    if owner:
        owner_entry = next((u for u in unique if u["username"] == owner), None)
        unique = [u for u in unique if u["username"] != owner]
        entry = owner_entry or {"username": owner}
        entry["role"] = "owner"
        unique.insert(0, entry)
    user_config["Users"] = unique


def config_file_text(file_cfg: dict[str, Any]) -> str:
    return orjson.dumps(file_cfg, option=orjson.OPT_INDENT_2).decode()
