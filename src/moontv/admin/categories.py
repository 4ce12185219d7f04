"""Custom Douban categories (``POST /api/admin/category``)."""

from __future__ import annotations

from typing import Any

from moontv.admin import AdminError
from moontv.admin.common import text
from moontv.admin.sources import sort_by_keys
from moontv.config import document

ACTIONS = ("add", "enable", "disable", "delete", "sort")
TYPES = ("movie", "tv")


def _find(config: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    query, type_ = body.get("query"), body.get("type")
    if not isinstance(query, str) or not query or not isinstance(type_, str) or not type_:
        raise AdminError(400, "缺少 query 或 type 参数")
    for entry in document.categories(config):
        if entry.get("query") == query and entry.get("type") == type_:
            return entry
    raise AdminError(404, "分类不存在")


def apply(config: dict[str, Any], body: dict[str, Any]) -> None:
    action = body.get("action")
    if action not in ACTIONS:
        raise AdminError(400, "参数格式错误")
    categories: list[dict[str, Any]] = document.categories(config)
    if action == "add":
        name = text(body, "name", "缺少必要参数")
        query = text(body, "query", "缺少必要参数")
        type_ = body.get("type")
        if type_ not in TYPES:
            raise AdminError(400, "分类类型必须是 movie 或 tv")
        if any(c.get("query") == query and c.get("type") == type_ for c in categories):
            raise AdminError(400, "该分类已存在")
        categories.append({"name": name, "type": type_, "query": query, "from": "custom", "disabled": False})
    elif action in ("enable", "disable"):
        _find(config, body)["disabled"] = action == "disable"
    elif action == "delete":
        entry = _find(config, body)
        if entry.get("from") == "config":
            raise AdminError(400, "该分类不可删除")
        categories.remove(entry)
    else:
        order = body.get("order")
        if not isinstance(order, list) or not all(isinstance(k, str) for k in order):
            raise AdminError(400, "排序列表格式错误")
        document.set_categories(
            config, sort_by_keys(categories, order, lambda c: f"{c.get('query')}:{c.get('type')}")
        )
