"""Source list actions (``POST /api/admin/source``): pure mutations of a merged AdminConfig."""

from __future__ import annotations

from typing import Any

from moontv.admin import AdminError
from moontv.admin.common import find_entry, forget_keys, http_url, source_key, string_list, text
from moontv.config import document

ACTIONS = ("add", "edit", "enable", "disable", "delete", "sort", "batchEnable", "batchDisable", "batchDelete")


def _find(config: dict[str, Any], key: Any) -> dict[str, Any]:
    return find_entry(document.sources(config), key, "源不存在")


def _forget_keys(config: dict[str, Any], keys: set[str]) -> None:
    forget_keys(config, keys, group_field="sourceKeys", user_field="enabledApis")


def check(body: dict[str, Any]) -> str:
    action = body.get("action")
    if action not in ACTIONS:
        raise AdminError(400, "参数格式错误")
    return str(action)


def apply(config: dict[str, Any], body: dict[str, Any]) -> None:
    action = check(body)
    sources: list[dict[str, Any]] = document.sources(config)
    if action == "add":
        key = source_key(body.get("key"))
        name = text(body, "name", "缺少必要参数")
        api = http_url(body.get("api"))
        detail = http_url(body.get("detail"), "Detail 地址必须是 http(s) URL", required=False)
        if any(s.get("key") == key for s in sources):
            raise AdminError(400, "该源已存在")
        sources.append(
            {"key": key, "name": name, "api": api, "detail": detail, "from": "custom", "disabled": False}
        )
    elif action == "edit":
        entry = _find(config, body.get("key"))
        if entry.get("from") == "config":
            raise AdminError(400, "该源来自配置文件，请在配置文件中修改")
        if "name" in body:
            entry["name"] = text(body, "name", "名称不能为空")
        if "api" in body:
            entry["api"] = http_url(body.get("api"))
        if "detail" in body:
            entry["detail"] = http_url(body.get("detail"), "Detail 地址必须是 http(s) URL", required=False)
    elif action in ("enable", "disable"):
        _find(config, body.get("key"))["disabled"] = action == "disable"
    elif action == "delete":
        entry = _find(config, body.get("key"))
        if entry.get("from") == "config":
            raise AdminError(400, "该源不可删除")
        sources.remove(entry)
        _forget_keys(config, {entry["key"]})
    elif action == "sort":
        order = body.get("order")
        if not isinstance(order, list) or not all(isinstance(k, str) for k in order):
            raise AdminError(400, "排序列表格式错误")
        document.set_sources(config, sort_by_keys(sources, order, lambda s: s.get("key")))
    else:
        keys = string_list(body.get("keys"), "缺少 keys 参数或列表为空")
        wanted = set(keys)
        if action == "batchDelete":
            removed = {s["key"] for s in sources if s["key"] in wanted and s.get("from") != "config"}
            document.set_sources(config, [s for s in sources if s["key"] not in removed])
            _forget_keys(config, removed)
        else:
            for entry in sources:
                if entry["key"] in wanted:
                    entry["disabled"] = action == "batchDisable"


def sort_by_keys(items: list[dict[str, Any]], order: list[str], key_of: Any) -> list[dict[str, Any]]:
    """Listed keys first in the given order; the rest keep their relative order after them."""
    position: dict[str, int] = {}
    for i, k in enumerate(order):
        position.setdefault(k, i)
    listed = sorted((it for it in items if key_of(it) in position), key=lambda it: position[key_of(it)])
    return listed + [it for it in items if key_of(it) not in position]
