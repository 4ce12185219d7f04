"""What ``GET /api/admin/config`` shows: the merged config with storage-side facts merged in."""

from __future__ import annotations

from typing import Any

from moontv.config import document
from moontv.config.view import LEGACY_TVBOX_FIELD, AdminConfigView


def admin_view(
    view: AdminConfigView, last_online: dict[str, int], tvbox: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """``tvbox``: each user's token state as kept in storage (``TvboxTokens.info``)."""
    shown = view.to_document()
    for user in document.users(shown):
        name = user.get("username")
        if name in last_online:
            user["lastOnline"] = last_online[name]
        token = user.pop(LEGACY_TVBOX_FIELD, None)
        # The token hash never leaves the server; admins see whether one is active and since when.
        if tvbox is not None and isinstance(name, str) and name in tvbox:
            user["tvbox"] = tvbox[name]
        else:
            user["tvbox"] = (
                {"active": True, "createdAt": token.get("createdAt")}
                if isinstance(token, dict)
                else {"active": False}
            )
    return shown
