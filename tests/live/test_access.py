"""Which live sources a user may use: the search rule (personal list, else group, else all)."""

from __future__ import annotations

import pytest

from moontv.admin import AdminError
from moontv.admin.lives import set_access
from moontv.config.view import AdminConfigView
from moontv.live.access import available_lives, web_live_enabled


def _config() -> dict:
    return {
        "SiteConfig": {},
        "LiveConfig": [
            {"key": "a", "name": "A", "url": "http://a/"},
            {"key": "b", "name": "B", "url": "http://b/"},
            {"key": "off", "name": "Off", "url": "http://c/", "disabled": True},
        ],
        "UserConfig": {
            "Users": [
                {"username": "alice", "group": "kids"},
                {"username": "bob", "group": "old"},
                {"username": "carol"},
            ],
            "Groups": [{"name": "kids", "sourceKeys": []}, {"name": "old", "sourceKeys": ["x"]}],
        },
    }


def keys(config: dict, user: str | None) -> list[str]:
    return [s.key for s in available_lives(AdminConfigView.from_document(config), user)]


def test_personal_list_wins_then_group_then_all() -> None:
    config = _config()
    assert keys(config, None) == ["a", "b"] and keys(config, "carol") == ["a", "b"]
    assert keys(config, "bob") == ["a", "b"]  # a group without liveKeys does not hide live TV
    set_access(config, {"group": "kids", "keys": ["b"]})
    assert keys(config, "alice") == ["b"]
    set_access(config, {"username": "alice", "keys": ["a"]})
    assert keys(config, "alice") == ["a"]
    set_access(config, {"username": "alice", "keys": []})
    assert keys(config, "alice") == ["b"]
    set_access(config, {"group": "kids", "keys": []})
    assert keys(config, "alice") == ["a", "b"]
    assert "liveKeys" not in config["UserConfig"]["Groups"][0]


@pytest.mark.parametrize(
    "body",
    [
        {"keys": ["a"]},
        {"username": "alice", "keys": "a"},
        {"username": "alice", "keys": ["zzz"]},
        {"group": "x", "keys": []},
    ],
)
def test_bad_access_requests(body: dict) -> None:
    with pytest.raises(AdminError):
        set_access(_config(), body)


def test_web_switch_defaults_on() -> None:
    assert web_live_enabled(AdminConfigView.from_document({"SiteConfig": {}}))
    assert not web_live_enabled(AdminConfigView.from_document({"SiteConfig": {"WebLiveEnabled": False}}))
