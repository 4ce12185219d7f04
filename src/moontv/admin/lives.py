"""Live source actions (``POST /api/admin/live``): pure mutations of a merged AdminConfig.

Entries are LunaTV's ``LiveConfig`` items ``{key, name, url, ua, epg, from, channelNumber,
disabled}``; ``from: "config"`` entries come from config.json and can only be toggled/sorted.
"""

from __future__ import annotations

from typing import Any

from moontv.admin import AdminError
from moontv.admin.common import MAX_URL, find_entry, forget_keys, http_url, source_key, string_list, text
from moontv.admin.sources import sort_by_keys
from moontv.config import document

ACTIONS = ("add", "edit", "enable", "disable", "delete", "sort", "batchDelete")


def _line(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or any(ord(c) < 32 for c in value):
        raise AdminError(400, f"{name} 格式错误（一行，最多 {limit} 个字符）")
    return value.strip()


def _epg(body: dict[str, Any]) -> str:
    value = _line(body, "epg", MAX_URL)
    for part in (p.strip() for p in value.split(",") if p.strip()):
        http_url(part, "节目单地址必须是 http(s) URL")
    return value


def _find(config: dict[str, Any], key: Any) -> dict[str, Any]:
    return find_entry(document.lives(config), key, "直播源不存在")


def _forget(config: dict[str, Any], keys: set[str]) -> None:
    forget_keys(config, keys, group_field="liveKeys", user_field="enabledLives")


def check(body: dict[str, Any]) -> str:
    action = body.get("action")
    if action not in ACTIONS:
        raise AdminError(400, "参数格式错误")
    return str(action)


def apply(config: dict[str, Any], body: dict[str, Any]) -> None:
    action = check(body)
    lives: list[dict[str, Any]] = document.lives(config)
    if action == "add":
        key = source_key(body.get("key"))
        if ":" in key:
            raise AdminError(400, "直播源 key 不能包含冒号")
        entry = {
            "key": key,
            "name": text(body, "name", "缺少必要参数"),
            "url": http_url(body.get("url"), "直播源地址必须是 http(s) URL"),
            "ua": _line(body, "ua", 512),
            "epg": _epg(body),
            "from": "custom",
            "channelNumber": 0,
            "disabled": False,
        }
        if any(e.get("key") == key for e in lives):
            raise AdminError(400, "该直播源已存在")
        lives.append(entry)
    elif action == "edit":
        entry = _find(config, body.get("key"))
        if entry.get("from") == "config":
            raise AdminError(400, "该直播源来自配置文件，请在配置文件中修改")
        if "name" in body:
            entry["name"] = text(body, "name", "名称不能为空")
        if "url" in body:
            entry["url"] = http_url(body.get("url"), "直播源地址必须是 http(s) URL")
        if "ua" in body:
            entry["ua"] = _line(body, "ua", 512)
        if "epg" in body:
            entry["epg"] = _epg(body)
    elif action in ("enable", "disable"):
        _find(config, body.get("key"))["disabled"] = action == "disable"
    elif action == "delete":
        entry = _find(config, body.get("key"))
        if entry.get("from") == "config":
            raise AdminError(400, "该直播源不可删除")
        lives.remove(entry)
        _forget(config, {entry["key"]})
    elif action == "sort":
        order = body.get("order")
        if not isinstance(order, list) or not all(isinstance(k, str) for k in order):
            raise AdminError(400, "排序列表格式错误")
        document.set_lives(config, sort_by_keys(lives, order, lambda s: s.get("key")))
    else:
        wanted = set(string_list(body.get("keys"), "缺少 keys 参数或列表为空"))
        removed = {e["key"] for e in lives if e["key"] in wanted and e.get("from") != "config"}
        document.set_lives(config, [e for e in lives if e["key"] not in removed])
        _forget(config, removed)


def set_access(config: dict[str, Any], body: dict[str, Any]) -> None:
    """``{username, keys}`` or ``{group, keys}``: the live sources a user or a user group may use
    (an empty list lifts the restriction)."""
    keys = string_list(body.get("keys"), "keys 必须是直播源 key 列表", allow_empty=True, limit=1000)
    known = {e.get("key") for e in document.lives(config)}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise AdminError(400, f"未知的直播源: {', '.join(unknown[:5])}")
    if isinstance(body.get("username"), str) and body["username"]:
        user = next((u for u in document.users(config) if u.get("username") == body["username"]), None)
        if user is None:
            raise AdminError(404, "用户不存在")
        if keys:
            user["enabledLives"] = keys
        else:
            user.pop("enabledLives", None)
    elif isinstance(body.get("group"), str) and body["group"]:
        groups = document.groups(config)
        group = next((g for g in groups if g.get("name") == body["group"]), None)
        if group is None:
            raise AdminError(404, "用户组不存在")
        if keys:
            group["liveKeys"] = keys
        else:
            group.pop("liveKeys", None)
    else:
        raise AdminError(400, "缺少 username 或 group 参数")
