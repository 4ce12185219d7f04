"""What ``GET /api/admin/config`` shows: the merged config with storage-side facts merged in."""

from __future__ import annotations

import copy
from typing import Any

TVBOX_FIELD = "tvboxToken"


def admin_view(
    config: dict[str, Any], last_online: dict[str, int], tvbox: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """``tvbox``: each user's token state as kept in storage (``TvboxTokens.info``)."""
    view = copy.deepcopy(config)
    for user in view["UserConfig"]["Users"]:
        name = user.get("username")
        if name in last_online:
            user["lastOnline"] = last_online[name]
        token = user.pop(TVBOX_FIELD, None)
        # The token hash never leaves the server; admins see whether one is active and since when.
        if tvbox is not None and isinstance(name, str) and name in tvbox:
            user["tvbox"] = tvbox[name]
        else:
            user["tvbox"] = (
                {"active": True, "createdAt": token.get("createdAt")}
                if isinstance(token, dict)
                else {"active": False}
            )
    return view
