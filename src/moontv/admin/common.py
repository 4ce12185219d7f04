"""Small validators shared by the admin services (they raise AdminError with MoonTV's messages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from moontv.admin import AdminError

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
