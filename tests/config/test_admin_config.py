"""The AdminConfig merge rules (MoonTV-compatible) and config.json validation."""

from __future__ import annotations

import json

import pytest

from moontv.config.admin import initial_config, merge
from moontv.config.file import ConfigFileError, parse_config_text
from moontv.config.view import AdminConfigView
from moontv.settings import load_settings

FILE = {
    "cache_time": 600,
    "api_site": {
        "a": {"api": "https://a.example/api.php/provide/vod", "name": "A"},
        "b": {"api": "https://b.example/api.php/provide/vod", "name": "B", "detail": "https://b.example"},
    },
    "custom_category": [{"name": "热门", "type": "movie", "query": "热门"}],
    "lives": {"x": {"name": "ignored", "url": "https://x"}},
}


@pytest.fixture
def settings():  # type: ignore[no-untyped-def]
    return load_settings(username="owner", password="pw", site_name="站点")


def test_initial_config(settings) -> None:
    config = initial_config(settings, json.dumps(FILE), ["owner", "alice"])
    assert [u["username"] for u in config["UserConfig"]["Users"]] == ["owner", "alice"]
    assert config["UserConfig"]["Users"][0]["role"] == "owner"
    assert [(s["key"], s["from"], s["disabled"]) for s in config["SourceConfig"]] == [
        ("a", "config", False),
        ("b", "config", False),
    ]
    assert config["SourceConfig"][1]["detail"] == "https://b.example"
    assert config["CustomCategories"] == [
        {"name": "热门", "type": "movie", "query": "热门", "from": "config", "disabled": False}
    ]
    assert config["SiteConfig"]["SiteInterfaceCacheTime"] == 600
    assert config["SiteConfig"]["SiteName"] == "站点"


def test_merge_keeps_custom_sources_and_disabled_flags(settings) -> None:
    stored = initial_config(settings, json.dumps(FILE), [])
    stored["SourceConfig"][0]["disabled"] = True
    stored["SourceConfig"].append({"key": "c", "name": "C", "api": "https://c.example/api", "from": "custom"})
    file2 = {**FILE, "api_site": {"a": {"api": "https://a2.example/api", "name": "A2"}}}
    stored["ConfigFile"] = json.dumps(file2)
    merged = merge(stored, settings)
    by_key = {s["key"]: s for s in merged["SourceConfig"]}
    assert by_key["a"] == {
        "key": "a",
        "name": "A2",
        "api": "https://a2.example/api",
        "disabled": True,
        "detail": "",
        "from": "config",
    }
    assert by_key["b"]["from"] == "custom" and by_key["c"]["from"] == "custom"
    assert [s.key for s in AdminConfigView.from_document(merged).enabled_sites()] == ["b", "c"]


def test_owner_enforcement(settings) -> None:
    stored = initial_config(settings, "{}", [])
    stored["UserConfig"]["Users"] = [
        {"username": "mallory", "role": "owner"},
        {"username": "owner", "role": "user", "banned": True},
        {"username": "mallory", "role": "admin"},
        {"username": "bob", "role": "superuser"},
    ]
    users = merge(stored, settings)["UserConfig"]["Users"]
    assert users == [
        {"username": "owner", "role": "owner", "banned": True},
        {"username": "mallory", "role": "user"},
        {"username": "bob", "role": "user"},
    ]


def test_group_allow_lists(settings) -> None:
    config = initial_config(settings, json.dumps(FILE), ["kid", "free"])
    config["UserConfig"]["Groups"] = [{"name": "g", "sourceKeys": ["b"]}, {"name": "none", "sourceKeys": []}]
    config["UserConfig"]["Users"][1]["group"] = "g"
    config["UserConfig"]["Users"][2]["group"] = "missing-group"
    view = AdminConfigView.from_document(config)
    assert [s.key for s in view.available_sites("kid")] == ["b"]
    assert [s.key for s in view.available_sites("free")] == ["a", "b"]
    assert [s.key for s in view.available_sites("owner")] == ["a", "b"]
    config["UserConfig"]["Users"][2]["group"] = "none"
    assert AdminConfigView.from_document(config).available_sites("free") == []


def test_env_fallbacks_fill_blank_fields(settings) -> None:
    stored = {"SiteConfig": {"SiteName": "", "SearchDownstreamMaxPage": "7", "DisableYellowFilter": "yes"}}
    merged = merge(stored, settings)
    assert merged["SiteConfig"]["SiteName"] == "站点"
    assert merged["SiteConfig"]["SearchDownstreamMaxPage"] == 5
    assert merged["SiteConfig"]["DisableYellowFilter"] is False
    assert merged["UserConfig"]["Groups"] == [] and merged["SourceConfig"] == []


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ("[]", "top level"),
        ('{"cache_time": "x"}', "cache_time"),
        ('{"api_site": []}', "api_site"),
        ('{"api_site": {"a": {"name": "A"}}}', "api_site.a.api"),
        ('{"api_site": {"a": {"api": "javascript:alert(1)", "name": "A"}}}', "api_site.a.api"),
        ('{"api_site": {"a": {"api": "https://x", "name": ""}}}', "api_site.a.name"),
        ('{"api_site": {"a+b": {"api": "https://x", "name": "A"}}}', "api_site.a+b"),
        ('{"custom_category": [{"type": "anime", "query": "x"}]}', "custom_category[0].type"),
        ('{"custom_category": [{"type": "tv"}]}', "custom_category[0].query"),
        ("{oops", "invalid JSON"),
    ],
)
def test_config_file_errors_name_the_field(doc: str, fragment: str) -> None:
    with pytest.raises(ConfigFileError, match=fragment.replace("[", r"\[").replace("+", r"\+")):
        parse_config_text(doc)


def test_per_source_stream_options_pass_through(settings) -> None:
    doc = {
        "api_site": {
            "a": {
                "api": "https://a.example/api",
                "name": "A",
                "adFilter": False,
                "proxySegments": True,
                "userAgent": "AptvPlayer/1.4",
                "referer": "https://a.example/",
            }
        }
    }
    parsed = parse_config_text(json.dumps(doc))
    assert (
        parsed["api_site"]["a"]["adFilter"] is False
        and parsed["api_site"]["a"]["userAgent"] == "AptvPlayer/1.4"
    )
    source = initial_config(settings, json.dumps(doc), [])["SourceConfig"][0]
    assert (source["adFilter"], source["proxySegments"], source["referer"]) == (
        False,
        True,
        "https://a.example/",
    )
    for bad, field in (
        ({"adFilter": "no"}, "adFilter"),
        ({"userAgent": "a\nb"}, "userAgent"),
        ({"referer": "ftp://x"}, "referer"),
    ):
        broken = {"api_site": {"a": {"api": "https://a.example/api", "name": "A", **bad}}}
        with pytest.raises(ConfigFileError, match=f"api_site.a.{field}"):
            parse_config_text(json.dumps(broken))
