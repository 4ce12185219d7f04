"""User management (``POST /api/admin/user``) with MoonTV's permission matrix.

Differences from MoonTV: permission failures are 403 (401 stays for "not signed in"); banning,
password resets and deletion sign the target out everywhere; two extra actions set a user's
group and a per-user source allow-list (``enabledApis``).
"""

from __future__ import annotations

from typing import Any

from moontv.admin import AdminError
from moontv.admin.common import string_list
from moontv.auth.service import AuthError, AuthService, Principal, validate_password, validate_username
from moontv.config import document
from moontv.config.document import find_user
from moontv.config.service import ConfigService
from moontv.storage.protocol import Storage, VersionConflict
from moontv.tvbox.tokens import forget_user

ACTIONS = (
    "add",
    "ban",
    "unban",
    "setAdmin",
    "cancelAdmin",
    "setAllowRegister",
    "changePassword",
    "deleteUser",
    "setGroup",
    "setSources",
)
NO_SELF = ("add", "ban", "unban", "setAdmin", "cancelAdmin")


class UserAdmin:
    def __init__(self, config: ConfigService, auth: AuthService, storage: Storage, owner: str) -> None:
        self._config = config
        self._auth = auth
        self._storage = storage
        self._owner = owner

    async def run(self, operator: Principal, body: dict[str, Any], version: int | None) -> int:
        """Apply one action; returns the config version afterwards."""
        action = body.get("action")
        if action not in ACTIONS:
            raise AdminError(400, "参数格式错误")
        if not operator.is_admin:
            raise AdminError(403, "权限不足")
        snapshot = await self._config.get()
        if version is not None and version != snapshot.version:
            self._config.invalidate()
            snapshot = await self._config.get()
            if version != snapshot.version:
                raise VersionConflict(version, snapshot.version)

        if action == "setAllowRegister":
            allow = body.get("allowRegister")
            if not isinstance(allow, bool):
                raise AdminError(400, "参数格式错误")

            def set_allow(config: dict[str, Any]) -> None:
                document.user_config(config)["AllowRegister"] = allow

            return (await self._config.update(set_allow, expected_version=version)).version

        target = body.get("targetUsername")
        if not isinstance(target, str) or not target.strip():
            raise AdminError(400, "缺少目标用户名")
        target = target.strip()
        if action in NO_SELF and target == operator.username:
            raise AdminError(400, "无法对自己进行此操作")
        entry = snapshot.view.user(target)
        is_owner_target = target == self._owner or (entry is not None and entry.role == "owner")
        if is_owner_target:
            if action == "changePassword":
                raise AdminError(403, "无法修改站长密码")
            raise AdminError(400, "无法操作站长")
        is_owner = operator.role == "owner"
        target_is_admin = entry is not None and entry.role == "admin"

        if action == "add":
            return await self._add(target, body.get("targetPassword"), version)
        if entry is None:
            raise AdminError(404, "目标用户不存在")

        if action in ("ban", "unban"):
            if target_is_admin and not is_owner:
                raise AdminError(403, "仅站长可封禁管理员" if action == "ban" else "仅站长可操作管理员")
            banned = action == "ban"
            new_version = await self._set(target, version, lambda u: u.__setitem__("banned", banned))
            if banned:
                await self._auth.revoke_sessions(target)
            return new_version
        if action == "setAdmin":
            if target_is_admin:
                raise AdminError(400, "该用户已是管理员")
            if not is_owner:
                raise AdminError(403, "仅站长可设置管理员")
            return await self._set(target, version, lambda u: u.__setitem__("role", "admin"))
        if action == "cancelAdmin":
            if not target_is_admin:
                raise AdminError(400, "目标用户不是管理员")
            if not is_owner:
                raise AdminError(403, "仅站长可取消管理员")
            return await self._set(target, version, lambda u: u.__setitem__("role", "user"))
        if action == "changePassword":
            password = body.get("targetPassword")
            if not isinstance(password, str) or not password:
                raise AdminError(400, "缺少新密码")
            if target_is_admin and not is_owner and target != operator.username:
                raise AdminError(403, "仅站长可修改其他管理员密码")
            try:
                validate_password(password)
            except AuthError as exc:
                raise AdminError(exc.status, exc.message) from None
            await self._auth.set_password(target, password)
            return snapshot.version
        if action == "deleteUser":
            if target == operator.username:
                raise AdminError(400, "不能删除自己")
            if target_is_admin and not is_owner:
                raise AdminError(403, "仅站长可删除管理员")

            def remove(config: dict[str, Any]) -> None:
                users = document.users(config)
                document.set_users(config, [u for u in users if u.get("username") != target])

            new_version = (await self._config.update(remove, expected_version=version)).version
            await self._storage.delete_user(target)  # also bumps the session epoch
            await forget_user(self._storage, target)
            return new_version

        if target_is_admin and not is_owner and target != operator.username:
            raise AdminError(403, "仅站长可操作管理员")
        if action == "setGroup":
            group = body.get("group")
            if group not in (None, "") and not isinstance(group, str):
                raise AdminError(400, "参数格式错误")

            def set_group(config: dict[str, Any]) -> None:
                user = find_user(config, target)
                if user is None:
                    raise AdminError(404, "目标用户不存在")
                if group:
                    if not any(g.get("name") == group for g in document.groups(config)):
                        raise AdminError(404, "分组不存在")
                    user["group"] = group
                else:
                    user.pop("group", None)

            return (await self._config.update(set_group, expected_version=version)).version
        # setSources: the per-user allow-list; null or [] removes it (the group decides again)
        raw = body.get("sourceKeys")
        keys = [] if raw is None else string_list(raw, "sourceKeys 必须是字符串列表", allow_empty=True)

        def set_sources(config: dict[str, Any]) -> None:
            known = {s["key"] for s in document.sources(config)}
            unknown = [k for k in keys if k not in known]
            if unknown:
                raise AdminError(400, f"存在未知的视频源: {', '.join(unknown[:5])}")
            user = find_user(config, target)
            if user is None:
                raise AdminError(404, "目标用户不存在")
            if keys:
                user["enabledApis"] = keys
            else:
                user.pop("enabledApis", None)

        return (await self._config.update(set_sources, expected_version=version)).version

    async def _set(self, target: str, version: int | None, change: Any) -> int:
        def mutate(config: dict[str, Any]) -> None:
            user = find_user(config, target)
            if user is None:
                raise AdminError(404, "目标用户不存在")
            change(user)

        return (await self._config.update(mutate, expected_version=version)).version

    async def _add(self, target: str, password: Any, version: int | None) -> int:
        if not isinstance(password, str) or not password:
            raise AdminError(400, "缺少目标用户密码")
        try:
            validate_username(target)
            validate_password(password)
            await self._auth.create_user(target, password)
        except AuthError as exc:
            raise AdminError(exc.status, exc.message) from None
        return (await self._config.get()).version
