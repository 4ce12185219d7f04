"""The one place writers reach into the AdminConfig JSON document.

Admin mutations (``ConfigService.update(mutate)``) receive a merged document: every section exists
with its MoonTV type (``merge`` sees to that). These accessors hand them the mutable parts, so the
section names of the stored layout live in ``moontv.config`` only; readers use ``AdminConfigView``.
Entries are changed in place, which keeps the fields a mutation does not know about.
"""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]
Entry = dict[str, Any]


def site(document: Document) -> Entry:
    section: Entry = document["SiteConfig"]
    return section


def set_site(document: Document, values: Entry) -> None:
    document["SiteConfig"] = values


def user_config(document: Document) -> Entry:
    section: Entry = document["UserConfig"]
    return section


def users(document: Document) -> list[Entry]:
    entries: list[Entry] = document["UserConfig"]["Users"]
    return entries


def set_users(document: Document, entries: list[Entry]) -> None:
    document["UserConfig"]["Users"] = entries


def find_user(document: Document, username: str) -> Entry | None:
    return next((u for u in users(document) if u.get("username") == username), None)


def groups(document: Document) -> list[Entry]:
    user_section = document["UserConfig"]
    if not isinstance(user_section.get("Groups"), list):
        user_section["Groups"] = []
    entries: list[Entry] = user_section["Groups"]
    return entries


def set_groups(document: Document, entries: list[Entry]) -> None:
    document["UserConfig"]["Groups"] = entries


def sources(document: Document) -> list[Entry]:
    entries: list[Entry] = document["SourceConfig"]
    return entries


def set_sources(document: Document, entries: list[Entry]) -> None:
    document["SourceConfig"] = entries


def lives(document: Document) -> list[Entry]:
    if not isinstance(document.get("LiveConfig"), list):
        document["LiveConfig"] = []
    entries: list[Entry] = document["LiveConfig"]
    return entries


def set_lives(document: Document, entries: list[Entry]) -> None:
    document["LiveConfig"] = entries


def categories(document: Document) -> list[Entry]:
    entries: list[Entry] = document["CustomCategories"]
    return entries


def set_categories(document: Document, entries: list[Entry]) -> None:
    document["CustomCategories"] = entries


def config_file(document: Document) -> str:
    text = document.get("ConfigFile")
    return text if isinstance(text, str) else ""


def set_config_file(document: Document, text: str) -> None:
    document["ConfigFile"] = text


def subscription(document: Document) -> Entry:
    """A copy of ``SubscriptionConfig`` (empty when unset); write it back with ``set_subscription``."""
    section = document.get("SubscriptionConfig")
    return dict(section) if isinstance(section, dict) else {}


def set_subscription(document: Document, values: Entry) -> None:
    document["SubscriptionConfig"] = values
