"""The typed admin config view: lenient about stored shapes, read-only, one per config version, and
writes through the admin API keep every stored field the view does not know about."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

import moontv
from moontv.config.view import AdminConfigView
from tests.inprocess import InProcessApp

CMS = "https://cms.example/api.php/provide/vod"

# What a MoonTV/LunaTV deployment in the wild may have stored: fields of later versions and forks at
# every level of the document.
STORED_WITH_EXTRAS: dict[str, Any] = {
    "ConfigFile": "{}",
    "ThemeConfig": {"primary": "#123456"},
    "SiteConfig": {"SiteName": "Wild", "FluidSearch": True, "TVBoxEnabled": True},
    "UserConfig": {
        "AllowRegister": False,
        "Users": [
            {"username": "admin", "role": "owner"},
            {"username": "alice", "role": "user", "avatar": "a.png", "tags": ["vip"]},
        ],
        "Groups": [{"name": "kids", "sourceKeys": ["a"], "color": "red"}],
        "Tags": [{"name": "vip", "enabledApis": ["a"]}],
    },
    "SourceConfig": [
        {"key": "a", "name": "A", "api": CMS, "from": "custom", "disabled": False, "weight": 3},
        {"key": "b", "name": "B", "api": CMS, "from": "custom", "disabled": False, "is_adult": True},
    ],
    "CustomCategories": [
        {"name": "Noir", "type": "movie", "query": "黑色电影", "from": "custom", "icon": "n"}
    ],
    "LiveConfig": [
        {
            "key": "tv",
            "name": "TV",
            "url": "https://iptv.example/a.m3u",
            "ua": "",
            "epg": "",
            "from": "custom",
            "disabled": False,
            "channelNumber": 0,
            "logoBase": "https://logo.example/",
        }
    ],
    "SubscriptionConfig": {"subscriptionUrl": "https://sub.example/c.json", "autoUpdate": False, "note": "x"},
}


async def _seed(app: InProcessApp, document: dict[str, Any]) -> None:
    """Store ``document`` as another MoonTV version would have written it."""
    storage = app.state.storage
    _, version = await storage.get_admin_config()
    await storage.set_admin_config(copy.deepcopy(document), version)
    app.state.config.invalidate()


def _assert_extras_kept(stored: dict[str, Any]) -> None:
    assert stored["ThemeConfig"] == {"primary": "#123456"}
    assert stored["SiteConfig"]["FluidSearch"] is True
    alice = next(u for u in stored["UserConfig"]["Users"] if u["username"] == "alice")
    assert alice["avatar"] == "a.png" and alice["tags"] == ["vip"]
    assert stored["UserConfig"]["Groups"][0]["color"] == "red"
    assert stored["UserConfig"]["Tags"] == [{"name": "vip", "enabledApis": ["a"]}]
    by_key = {s["key"]: s for s in stored["SourceConfig"]}
    assert by_key["a"]["weight"] == 3 and by_key["b"]["is_adult"] is True
    assert stored["CustomCategories"][0]["icon"] == "n"
    assert stored["LiveConfig"][0]["logoBase"] == "https://logo.example/"
    assert stored["SubscriptionConfig"]["note"] == "x"


async def test_admin_writes_keep_fields_the_view_does_not_know(inprocess_app: Any) -> None:
    app: InProcessApp = await inprocess_app()
    await app.add_user("alice")
    await _seed(app, STORED_WITH_EXTRAS)
    owner = await app.client(as_user="admin")

    writes = [
        ("/api/admin/source", {"action": "disable", "key": "b"}),
        ("/api/admin/user", {"action": "ban", "targetUsername": "alice"}),
        ("/api/admin/category", {"action": "disable", "query": "黑色电影", "type": "movie"}),
        ("/api/admin/live", {"action": "disable", "key": "tv"}),
        ("/api/admin/tvbox", {"action": "disable"}),
        ("/api/admin/subscription", {"action": "update", "autoUpdate": False}),
    ]
    for path, body in writes:
        response = await owner.post(path, json=body)
        assert response.status_code == 200, (path, response.text)

    stored, _ = await app.state.storage.get_admin_config()
    assert stored is not None
    _assert_extras_kept(stored)
    by_key = {s["key"]: s for s in stored["SourceConfig"]}
    assert by_key["b"]["disabled"] is True and stored["SiteConfig"]["TVBoxEnabled"] is False
    assert stored["CustomCategories"][0]["disabled"] is True and stored["LiveConfig"][0]["disabled"] is True

    shown = (await owner.get("/api/admin/config")).json()["Config"]
    _assert_extras_kept(shown)
    categories = (await owner.get("/api/config/custom_category")).json()
    assert categories[0]["icon"] == "n"
    lives = (await owner.get("/api/admin/live")).json()["lives"]
    assert lives[0]["logoBase"] == "https://logo.example/"
    subscription = (await owner.get("/api/admin/subscription")).json()["subscriptionConfig"]
    assert subscription["note"] == "x"

    view = await app.state.config.view()
    assert view.user("alice") is not None and view.user("alice").banned  # type: ignore[union-attr]
    assert [s.key for s in view.enabled_sites()] == ["a"]


async def test_one_view_per_config_version(inprocess_app: Any) -> None:
    app: InProcessApp = await inprocess_app({"a": CMS})
    first = await app.state.config.get()
    app.state.config.invalidate()
    again = await app.state.config.get()
    assert again.version == first.version and again.view is first.view  # re-read, same version: kept
    changed = await app.state.config.update(lambda doc: doc["SiteConfig"].update(SiteName="Renamed"))
    assert changed.version != first.version and changed.view is not first.view
    assert changed.view.site.site_name == "Renamed" and first.view.site.site_name != "Renamed"
    assert (await app.state.config.view()) is changed.view


def test_round_trip_and_read_only() -> None:
    view = AdminConfigView.from_document(STORED_WITH_EXTRAS)
    document = view.to_document()
    assert document == STORED_WITH_EXTRAS
    document["SourceConfig"][0]["weight"] = 99  # a copy: the view and its source stay as they were
    assert view.to_document() == STORED_WITH_EXTRAS and STORED_WITH_EXTRAS["SourceConfig"][0]["weight"] == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.site.site_name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        view.sources[0].raw["weight"] = 1  # type: ignore[index]
    live = view.lives[0].document()
    live["key"] = "changed"
    assert view.lives[0].key == "tv" and view.lives[0].document()["key"] == "tv"


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"SiteConfig": [], "UserConfig": "x", "SourceConfig": {}, "LiveConfig": 5, "CustomCategories": None},
        {
            "SiteConfig": {
                "SiteInterfaceCacheTime": -5,
                "SearchDownstreamMaxPage": True,
                "TVBoxEnabled": "yes",
            },
            "UserConfig": {
                "Users": [{"username": 7}, {"role": "admin"}, "bob", {"username": "u", "enabledApis": "a"}],
                "Groups": [None, {"name": 3, "sourceKeys": "a"}],
            },
            "SourceConfig": [
                {"key": ""},
                {"key": None, "api": CMS},
                {"key": "k", "api": 5, "disabled": "no"},
            ],
            "LiveConfig": [{"key": "l", "url": ["x"], "channelNumber": True}],
            "CustomCategories": ["c", {"query": 1}],
            "SubscriptionConfig": {"failures": -3, "lastUpdated": "yesterday"},
        },
    ],
)
def test_hostile_shapes_read_as_defaults(document: dict[str, Any]) -> None:
    view = AdminConfigView.from_document(document)
    assert view.site.cache_time == 7200 and view.site.search_max_page is None
    assert view.site.tvbox_enabled is False and view.site.web_live_enabled is True
    assert view.enabled_sites() == [] and view.enabled_lives() == []
    assert all(isinstance(u.username, str) and u.username for u in view.users)
    assert view.available_sites("u") == [] and view.enabled_categories() == []
    assert view.subscription.failures == 0 and view.subscription.last_updated is None
    assert view.to_document() == document


def test_allow_lists() -> None:
    view = AdminConfigView.from_document(
        {
            "SourceConfig": [{"key": k, "api": CMS} for k in ("a", "b", "c")],
            "LiveConfig": [{"key": k, "url": "https://iptv.example/x.m3u"} for k in ("x", "y")],
            "UserConfig": {
                "Users": [
                    {"username": "own", "enabledApis": ["c"], "enabledLives": []},
                    {"username": "kid", "group": "kids"},
                    {"username": "emptied", "enabledApis": []},
                ],
                "Groups": [{"name": "kids", "sourceKeys": ["a", "b"], "liveKeys": ["y"]}],
            },
        }
    )
    assert [s.key for s in view.available_sites("own")] == ["c"]  # the personal list wins
    assert [s.key for s in view.available_sites("kid")] == ["a", "b"]
    assert view.available_sites("emptied") == []  # an emptied list fails closed
    assert [s.key for s in view.available_sites("nobody")] == ["a", "b", "c"]
    assert view.available_site("kid", "c") is None and view.available_site("kid", "a") is not None
    assert [e.key for e in view.available_lives("own")] == ["x", "y"]  # an empty live list: no limit
    assert [e.key for e in view.available_lives("kid")] == ["y"]


SECTION_INDEX = re.compile(
    r"""(\[\s*|\.get\(\s*)["'](SiteConfig|SourceConfig|UserConfig|CustomCategories|LiveConfig|ConfigFile"""
    r"""|SubscriptionConfig|Users|Groups)["']"""
)


def test_only_the_config_package_indexes_the_document() -> None:
    """Readers go through the view and writers through ``moontv.config.document``: the stored layout's
    section names appear nowhere else in the server."""
    package = Path(moontv.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.parent.name != "config" or path.parent.parent != package
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SECTION_INDEX.search(line)
    ]
    assert offenders == []
