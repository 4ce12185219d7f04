"""User groups with a source allow-list (``POST /api/admin/group``)."""

from __future__ import annotations

from typing import Any

from moontv.admin import AdminError
from moontv.admin.common import string_list, text
from moontv.config import document

ACTIONS = ("create", "delete", "rename", "setSources", "assignUsers", "removeUsers")


def _groups(config: dict[str, Any]) -> list[dict[str, Any]]:
    return document.groups(config)


def _find(config: dict[str, Any], name: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise AdminError(400, "缺少分组名称")
    for group in _groups(config):
        if group.get("name") == name:
            return group
    raise AdminError(404, "分组不存在")


def _source_keys(config: dict[str, Any], value: Any) -> list[str]:
    if value is None:
        return []
    keys = string_list(value, "sourceKeys 必须是字符串列表", allow_empty=True)
    known = {s["key"] for s in document.sources(config)}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise AdminError(400, f"存在未知的视频源: {', '.join(unknown[:5])}")
    return keys


def _users(config: dict[str, Any], value: Any, owner: str, operator_role: str) -> list[dict[str, Any]]:
    names = string_list(value, "缺少用户列表")
    entries = []
    for name in names:
        entry = next((u for u in document.users(config) if u.get("username") == name), None)
        if entry is None:
            raise AdminError(404, f"目标用户不存在: {name}")
        if entry.get("role") == "owner" or name == owner:
            raise AdminError(400, "无法操作站长")
        if entry.get("role") == "admin" and operator_role != "owner":
            raise AdminError(403, "仅站长可操作管理员")
        entries.append(entry)
    return entries


def apply(config: dict[str, Any], body: dict[str, Any], *, owner: str, operator_role: str) -> None:
    action = body.get("action")
    if action not in ACTIONS:
        raise AdminError(400, "参数格式错误")
    groups = _groups(config)
    if action == "create":
        name = text(body, "name", "缺少分组名称")
        if any(g.get("name") == name for g in groups):
            raise AdminError(400, "分组已存在")
        groups.append({"name": name, "sourceKeys": _source_keys(config, body.get("sourceKeys"))})
    elif action == "delete":
        group = _find(config, body.get("name"))
        groups.remove(group)
        for user in document.users(config):
            if user.get("group") == group["name"]:
                user.pop("group", None)
    elif action == "rename":
        group = _find(config, body.get("name"))
        new_name = text(body, "newName", "缺少新分组名称")
        if new_name != group["name"] and any(g.get("name") == new_name for g in groups):
            raise AdminError(400, "新分组名已存在")
        for user in document.users(config):
            if user.get("group") == group["name"]:
                user["group"] = new_name
        group["name"] = new_name
    elif action == "setSources":
        group = _find(config, body.get("name"))
        if not isinstance(body.get("sourceKeys"), list):
            raise AdminError(400, "sourceKeys 必须是字符串列表")
        group["sourceKeys"] = _source_keys(config, body.get("sourceKeys"))
    elif action == "assignUsers":
        group = _find(config, body.get("name"))
        for entry in _users(config, body.get("users"), owner, operator_role):
            entry["group"] = group["name"]
    else:
        for entry in _users(config, body.get("users"), owner, operator_role):
            entry.pop("group", None)
