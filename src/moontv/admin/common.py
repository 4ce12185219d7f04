"""Small validators shared by the admin services (they raise AdminError with MoonTV's messages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from moontv.admin import AdminError
from moontv.config import document

MAX_NAME = 100
MAX_URL = 2048


def text(body: dict[str, Any], name: str, message: str, *, limit: int = MAX_NAME) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise AdminError(400, message)
    value = value.strip()
    if len(value) > limit:
        raise AdminError(400, f"{name} 过长（最多 {limit} 个字符）")
    return value


def http_url(value: Any, message: str = "API 地址必须是 http(s) URL", *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise AdminError(400, message)
        return ""
    if not isinstance(value, str) or len(value) > MAX_URL:
        raise AdminError(400, message)
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AdminError(400, message)
    return value


def string_list(value: Any, message: str, *, allow_empty: bool = False, limit: int = 10000) -> list[str]:
    if not isinstance(value, list) or (not value and not allow_empty) or len(value) > limit:
        raise AdminError(400, message)
    if not all(isinstance(v, str) and v for v in value):
        raise AdminError(400, message)
    seen: dict[str, None] = {}
    for v in value:
        seen.setdefault(v, None)
    return list(seen)


def source_key(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AdminError(400, "缺少必要参数")
    value = value.strip()
    if len(value) > MAX_NAME or any(c in value for c in "+/, \t\n"):
        raise AdminError(400, "源 key 不能包含 + / , 或空白")
    return value


def find_entry(entries: list[dict[str, Any]], key: Any, missing: str) -> dict[str, Any]:
    """The entry of a keyed list (sources, live sources) named ``key``; 400 without a key, 404 (``missing``)
    when there is none."""
    if not isinstance(key, str) or not key:
        raise AdminError(400, "缺少 key 参数")
    for entry in entries:
        if entry.get("key") == key:
            return entry
    raise AdminError(404, missing)


def forget_keys(config: dict[str, Any], keys: set[str], *, group_field: str, user_field: str) -> None:
    """Deleted entries leave no dangling references in groups' or users' allow-lists."""
    for group in document.groups(config):
        if isinstance(group.get(group_field), list):
            group[group_field] = [k for k in group[group_field] if k not in keys]
    for user in document.users(config):
        if isinstance(user.get(user_field), list):
            user[user_field] = [k for k in user[user_field] if k not in keys]
