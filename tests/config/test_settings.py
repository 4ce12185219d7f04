"""Environment variables: MoonTV's names and MOONTV_* names, clear errors."""

from __future__ import annotations

import pytest

from moontv.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("MOONTV_", "NEXT_PUBLIC_")) or key in (
            "PASSWORD",
            "USERNAME",
            "PORT",
            "HOSTNAME",
            "REDIS_URL",
            "KVROCKS_URL",
            "SITE_NAME",
        ):
            monkeypatch.delenv(key)


def test_moontv_names_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "USERNAME": "boss",
        "PASSWORD": "pw",
        "NEXT_PUBLIC_STORAGE_TYPE": "kvrocks",
        "KVROCKS_URL": "redis://k:6666",
        "NEXT_PUBLIC_SITE_NAME": "家庭影院",
        "ANNOUNCEMENT": "hi",
        "NEXT_PUBLIC_ENABLE_REGISTER": "true",
        "NEXT_PUBLIC_SEARCH_MAX_PAGE": "3",
        "NEXT_PUBLIC_DISABLE_YELLOW_FILTER": "true",
        "PORT": "8080",
        "HOSTNAME": "0.0.0.0",
        "TVBOX_ENABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    s = load_settings()
    assert (s.username, s.password, s.storage_kind, s.storage_url) == (
        "boss",
        "pw",
        "kvrocks",
        "redis://k:6666",
    )
    assert (s.site_name, s.announcement, s.enable_register, s.search_max_page) == ("家庭影院", "hi", True, 3)
    assert s.disable_yellow_filter and s.tvbox_enabled and s.port == 8080 and s.bind_host == "0.0.0.0"


def test_moontv_prefixed_names_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("MOONTV_PORT", "9090")
    assert load_settings().port == 9090


def test_defaults_and_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert (
        s.storage_kind == "sqlite" and s.username == "admin" and s.port == 3000 and s.bind_host == "127.0.0.1"
    )
    monkeypatch.setenv("NEXT_PUBLIC_STORAGE_TYPE", "localstorage")
    assert load_settings().storage_kind == "sqlite"
    monkeypatch.setenv("HOSTNAME", "3f2a9c1b7d4e")  # a container id, not an address
    assert load_settings().bind_host == "127.0.0.1"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"NEXT_PUBLIC_STORAGE_TYPE": "mongo"}, "NEXT_PUBLIC_STORAGE_TYPE"),
        ({"NEXT_PUBLIC_STORAGE_TYPE": "upstash"}, "upstash"),
        ({"NEXT_PUBLIC_STORAGE_TYPE": "redis"}, "REDIS_URL"),
        ({"NEXT_PUBLIC_SEARCH_MAX_PAGE": "0"}, "NEXT_PUBLIC_SEARCH_MAX_PAGE"),
        ({"NEXT_PUBLIC_ENABLE_REGISTER": "maybe"}, "NEXT_PUBLIC_ENABLE_REGISTER"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict, fragment: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=fragment):
        load_settings()
