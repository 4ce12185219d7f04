"""Reset the site configuration to what the config file and environment say (owner only)."""

from __future__ import annotations

from typing import Any

from moontv.admin import AdminError
from moontv.config.admin import initial_config
from moontv.config.file import ConfigFileError, load_config_file
from moontv.settings import Settings


def fresh_config(settings: Settings, storage_users: list[str]) -> dict[str, Any]:
    """MoonTV's reset: file sources and categories, env site settings, every stored user as a
    plain user, the owner first; custom sources, roles, bans, groups and subscription are dropped."""
    try:
        _, text = load_config_file(settings.config_file)
    except ConfigFileError as exc:
        raise AdminError(400, f"配置文件无效，无法重置: {exc}") from None
    return initial_config(settings, text, storage_users)
