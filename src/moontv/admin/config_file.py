"""The raw config-file editor: validation, a diff preview and saving (``POST /api/admin/config_file``)."""

from __future__ import annotations

import difflib
from typing import Any

import orjson

from moontv.admin import AdminError
from moontv.config import document
from moontv.config.file import ConfigFileError, parse_config_text, validate_config_file

MAX_CONFIG_FILE = 512 * 1024
MAX_DIFF_LINES = 2000


def pretty(text: str) -> str:
    """Stable pretty form used for storage and diffs (invalid text is returned unchanged)."""
    try:
        return orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return text


def validate(text: Any) -> tuple[str, dict[str, Any]]:
    """(pretty text, normalised config) or AdminError with a message naming the problem."""
    if not isinstance(text, str) or not text.strip():
        raise AdminError(400, "配置文件内容不能为空")
    if len(text) > MAX_CONFIG_FILE:
        raise AdminError(400, "配置文件过大")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise AdminError(400, "配置文件格式错误，请检查 JSON 语法") from None
    try:
        checked = validate_config_file(data)
    except ConfigFileError as exc:
        raise AdminError(400, f"配置文件校验失败: {exc}") from None
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(), checked


def _parsed(text: str) -> dict[str, Any]:
    try:
        return parse_config_text(text or "{}")
    except ConfigFileError:
        return {"api_site": {}, "custom_category": []}


def preview(current_text: str, new_text: Any) -> dict[str, Any]:
    """What saving ``new_text`` would change: a unified diff and a per-source summary."""
    new_pretty, new_cfg = validate(new_text)
    old_pretty = pretty(current_text or "{}")
    diff = list(
        difflib.unified_diff(
            old_pretty.splitlines(), new_pretty.splitlines(), "当前配置", "新配置", lineterm="", n=2
        )
    )
    truncated = len(diff) > MAX_DIFF_LINES
    old_sites = _parsed(current_text)["api_site"]
    new_sites = new_cfg["api_site"]
    old_cats = {(c["query"], c["type"]) for c in _parsed(current_text)["custom_category"]}
    new_cats = {(c["query"], c["type"]) for c in new_cfg["custom_category"]}
    return {
        "valid": True,
        "changed": old_pretty != new_pretty,
        "diff": "\n".join(diff[:MAX_DIFF_LINES]),
        "truncated": truncated,
        "summary": {
            "sourcesAdded": sorted(set(new_sites) - set(old_sites)),
            "sourcesRemoved": sorted(set(old_sites) - set(new_sites)),
            "sourcesChanged": sorted(
                k for k in set(old_sites) & set(new_sites) if old_sites[k] != new_sites[k]
            ),
            "categoriesAdded": len(new_cats - old_cats),
            "categoriesRemoved": len(old_cats - new_cats),
        },
    }


def apply(config: dict[str, Any], new_text: Any) -> None:
    document.set_config_file(config, validate(new_text)[0])
