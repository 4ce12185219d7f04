"""A typed, read-only view of the merged AdminConfig document.

Built once per config version (``ConfigSnapshot.view``); every reader outside ``moontv.config`` goes
through it instead of indexing the stored JSON. The view is lenient about shapes (a stored document
may come from MoonTV, LunaTV or a hand edit): a field of the wrong type reads as its default. Each
entry keeps its stored JSON object (``document()``), so wire output and writes keep fields this view
does not know about.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from moontv.sources.models import ApiSite

DEFAULT_CACHE_TIME = 7200
LEGACY_TVBOX_FIELD = "tvboxToken"  # token hashes once kept on user entries (now in storage meta)
Role = Literal["owner", "admin", "user"]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strings(value: Any) -> tuple[str, ...] | None:
    """A list of strings as a tuple (non-strings dropped); None when ``value`` is not a list."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else None


def _flag(value: Any) -> bool | None:
    """A per-source switch as config files write it: a bool, or a yes/no word."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("0", "false", "off", "no"):
            return False
        if word in ("1", "true", "on", "yes"):
            return True
    return None


def header_value(value: Any) -> str | None:
    """A header value fit to send upstream (one short line), else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > 512 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    return value


def _frozen(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(entry))


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """``SiteConfig``."""

    site_name: str
    announcement: str
    search_max_page: int | None
    cache_time: int
    douban_proxy_type: str
    douban_proxy: str
    douban_image_proxy_type: str
    douban_image_proxy: str
    disable_yellow_filter: bool
    danmaku_api_base_url: str
    tvbox_enabled: bool
    tvbox_password: str
    web_live_enabled: bool

    @classmethod
    def from_json(cls, site: Mapping[str, Any]) -> SiteSettings:
        cache = _int(site.get("SiteInterfaceCacheTime"))
        return cls(
            site_name=_str(site.get("SiteName")),
            announcement=_str(site.get("Announcement")),
            search_max_page=_int(site.get("SearchDownstreamMaxPage")),
            cache_time=cache if cache is not None and cache >= 0 else DEFAULT_CACHE_TIME,
            douban_proxy_type=_str(site.get("DoubanProxyType")),
            douban_proxy=_str(site.get("DoubanProxy")),
            douban_image_proxy_type=_str(site.get("DoubanImageProxyType")),
            douban_image_proxy=_str(site.get("DoubanImageProxy")),
            disable_yellow_filter=bool(site.get("DisableYellowFilter")),
            danmaku_api_base_url=_str(site.get("DanmakuApiBaseUrl")).strip(),
            tvbox_enabled=site.get("TVBoxEnabled") is True,
            tvbox_password=_str(site.get("TVBoxPassword")),
            web_live_enabled=site.get("WebLiveEnabled") is not False,
        )


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One ``SourceConfig`` item (a video source), with its optional playback settings."""

    key: str
    name: str
    api: str
    detail: str
    origin: str  # "config" (from the config file) or "custom" (added in the admin panel)
    disabled: bool
    ad_filter: bool | None
    proxy_segments: bool | None
    user_agent: str | None
    referer: str | None
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> SourceEntry:
        key = entry["key"]
        return cls(
            key=key,
            name=_str(entry.get("name"), key),
            api=_str(entry.get("api")),
            detail=_str(entry.get("detail")),
            origin=_str(entry.get("from"), "custom"),
            disabled=bool(entry.get("disabled")),
            ad_filter=_flag(entry.get("adFilter")),
            proxy_segments=_flag(entry.get("proxySegments")),
            user_agent=header_value(entry.get("userAgent")),
            referer=header_value(entry.get("referer")),
            raw=_frozen(entry),
        )

    @property
    def site(self) -> ApiSite:
        return ApiSite(key=self.key, name=self.name or self.key, api=self.api, detail=self.detail)


@dataclass(frozen=True, slots=True)
class LiveEntry:
    """One ``LiveConfig`` item (a live TV source: an M3U/TXT playlist and its guide)."""

    key: str
    name: str
    url: str
    ua: str
    epg: str
    origin: str
    disabled: bool
    channel_number: int
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> LiveEntry:
        key = entry["key"]
        return cls(
            key=key,
            name=_str(entry.get("name")),
            url=_str(entry.get("url")),
            ua=_str(entry.get("ua")),
            epg=_str(entry.get("epg")),
            origin=_str(entry.get("from"), "custom"),
            disabled=bool(entry.get("disabled")),
            channel_number=_int(entry.get("channelNumber")) or 0,
            raw=_frozen(entry),
        )

    def document(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.raw))


@dataclass(frozen=True, slots=True)
class CategoryEntry:
    """One ``CustomCategories`` item (a Douban tag shown as a category)."""

    name: str | None
    type: str
    query: str
    origin: str
    disabled: bool
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> CategoryEntry:
        name = entry.get("name")
        return cls(
            name=name if isinstance(name, str) else None,
            type=_str(entry.get("type")),
            query=_str(entry.get("query")),
            origin=_str(entry.get("from"), "custom"),
            disabled=bool(entry.get("disabled")),
            raw=_frozen(entry),
        )

    def document(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.raw))


@dataclass(frozen=True, slots=True)
class UserEntry:
    """One ``UserConfig.Users`` item. ``enabled_apis``/``enabled_lives`` are per-user allow-lists
    (None: no list set)."""

    username: str
    role: Role
    banned: bool
    group: str
    enabled_apis: tuple[str, ...] | None
    enabled_lives: tuple[str, ...] | None
    last_online: int | None  # ms; storage's record is newer (``Storage.get_last_online``)
    legacy_tvbox: Mapping[str, Any] | None
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> UserEntry:
        role = entry.get("role")
        legacy = entry.get(LEGACY_TVBOX_FIELD)
        return cls(
            username=entry["username"],
            role=role if role in ("owner", "admin") else "user",
            banned=bool(entry.get("banned")),
            group=_str(entry.get("group")),
            enabled_apis=_strings(entry.get("enabledApis")),
            enabled_lives=_strings(entry.get("enabledLives")),
            last_online=_int(entry.get("lastOnline")),
            legacy_tvbox=_frozen(legacy) if isinstance(legacy, dict) else None,
            raw=_frozen(entry),
        )


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One ``UserConfig.Groups`` item: the sources (and, optionally, live sources) its members may use."""

    name: str
    source_keys: tuple[str, ...]
    live_keys: tuple[str, ...] | None

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> GroupEntry:
        return cls(
            name=_str(entry.get("name")),
            source_keys=_strings(entry.get("sourceKeys")) or (),
            live_keys=_strings(entry.get("liveKeys")),
        )


@dataclass(frozen=True, slots=True)
class SubscriptionSettings:
    """``SubscriptionConfig``: the config subscription URL and its auto-update state."""

    url: str
    auto_update: bool
    update_interval: int | None
    import_mode: str
    last_updated: float | None
    last_checked: float | None
    failures: int
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, sub: Mapping[str, Any]) -> SubscriptionSettings:
        def when(value: Any) -> float | None:
            return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

        failures = _int(sub.get("failures"))
        return cls(
            url=_str(sub.get("subscriptionUrl")),
            auto_update=bool(sub.get("autoUpdate")),
            update_interval=_int(sub.get("updateInterval")),
            import_mode=_str(sub.get("importMode")),
            last_updated=when(sub.get("lastUpdated")),
            last_checked=when(sub.get("lastChecked")),
            failures=failures if failures is not None and failures > 0 else 0,
            raw=_frozen(sub),
        )

    def document(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.raw))


def _objects(value: Any, key_field: str | None = None) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list) else []
    return [
        item
        for item in items
        if isinstance(item, dict)
        and (key_field is None or (isinstance(item.get(key_field), str) and item[key_field]))
    ]


def _section(document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = document.get(name)
    return value if isinstance(value, dict) else _EMPTY


@dataclass(frozen=True, slots=True)
class AdminConfigView:
    site: SiteSettings
    allow_register: bool
    users: tuple[UserEntry, ...]
    groups: tuple[GroupEntry, ...]
    sources: tuple[SourceEntry, ...]
    categories: tuple[CategoryEntry, ...]
    lives: tuple[LiveEntry, ...]
    subscription: SubscriptionSettings
    config_file: str
    _users_by_name: Mapping[str, UserEntry]
    _document: Mapping[str, Any]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> AdminConfigView:
        user_config = _section(document, "UserConfig")
        users: dict[str, UserEntry] = {}
        for entry in _objects(user_config.get("Users"), "username"):
            users.setdefault(entry["username"], UserEntry.from_json(entry))
        return cls(
            site=SiteSettings.from_json(_section(document, "SiteConfig")),
            allow_register=user_config.get("AllowRegister") is True,
            users=tuple(users.values()),
            groups=tuple(GroupEntry.from_json(g) for g in _objects(user_config.get("Groups"))),
            sources=tuple(SourceEntry.from_json(s) for s in _objects(document.get("SourceConfig"), "key")),
            categories=tuple(CategoryEntry.from_json(c) for c in _objects(document.get("CustomCategories"))),
            lives=tuple(LiveEntry.from_json(e) for e in _objects(document.get("LiveConfig"), "key")),
            subscription=SubscriptionSettings.from_json(_section(document, "SubscriptionConfig")),
            config_file=_str(document.get("ConfigFile")),
            _users_by_name=MappingProxyType(users),
            _document=MappingProxyType(dict(document)),
        )

    def to_document(self) -> dict[str, Any]:
        """A copy of the JSON document the view was built from (every field, known or not)."""
        return copy.deepcopy(dict(self._document))

    # -- users ----------------------------------------------------------------------------------

    def user(self, username: str) -> UserEntry | None:
        return self._users_by_name.get(username)

    def usernames(self) -> list[str]:
        return [u.username for u in self.users]

    def group_of(self, user: UserEntry | None) -> GroupEntry | None:
        if user is None or not user.group:
            return None
        return next((g for g in self.groups if g.name == user.group), None)

    # -- video sources --------------------------------------------------------------------------

    def source(self, key: str) -> SourceEntry | None:
        return next((s for s in self.sources if s.key == key), None)

    def enabled_sites(self) -> list[ApiSite]:
        return [s.site for s in self.sources if not s.disabled and s.api]

    def available_sites(self, username: str | None) -> list[ApiSite]:
        """Enabled sources the user may use: all, unless the user's own allow-list (``enabledApis``)
        or, without one, the user's group restricts them.

        Allow-lists fail closed: a list emptied by deleting its sources allows nothing (an admin lifts
        a restriction by removing the list, which is what clearing it in the admin panel does)."""
        sites = self.enabled_sites()
        if not username:
            return sites
        user = self.user(username)
        if user is not None and user.enabled_apis is not None:
            allowed = set(user.enabled_apis)
            return [s for s in sites if s.key in allowed]
        group = self.group_of(user)
        if group is None:
            return sites
        allowed = set(group.source_keys)
        return [s for s in sites if s.key in allowed]

    def available_site(self, username: str | None, key: str) -> ApiSite | None:
        return next((s for s in self.available_sites(username) if s.key == key), None)

    # -- live sources ---------------------------------------------------------------------------

    def live(self, key: str) -> LiveEntry | None:
        return next((e for e in self.lives if e.key == key), None)

    def enabled_lives(self) -> list[LiveEntry]:
        return [e for e in self.lives if not e.disabled and e.url]

    def available_lives(self, username: str | None) -> list[LiveEntry]:
        """The search rule applied to live sources, except that an empty personal list (``enabledLives``)
        means no restriction; a group restricts only when it has a ``liveKeys`` list."""
        lives = self.enabled_lives()
        if not username:
            return lives
        user = self.user(username)
        if user is not None and user.enabled_lives:
            allowed = set(user.enabled_lives)
            return [e for e in lives if e.key in allowed]
        group = self.group_of(user)
        if group is None or group.live_keys is None:
            return lives
        allowed = set(group.live_keys)
        return [e for e in lives if e.key in allowed]

    # -- categories -----------------------------------------------------------------------------

    def category_documents(self) -> list[dict[str, Any]]:
        """``CustomCategories`` as stored (the wire shape of ``/api/config/custom_category``)."""
        return [c.document() for c in self.categories]

    def enabled_categories(self) -> list[CategoryEntry]:
        return [c for c in self.categories if not c.disabled and c.query]
