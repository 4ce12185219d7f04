"""Login, registration, password changes and request authentication."""

from __future__ import annotations

import hmac
import math
import re
from dataclasses import dataclass
from typing import Literal

from moontv.auth.passwords import hash_password, verify_password
from moontv.auth.ratelimit import SlidingWindowLimiter
from moontv.auth.tokens import TokenSigner
from moontv.config.admin import find_user
from moontv.config.service import ConfigService
from moontv.errors import ServiceError
from moontv.settings import Settings
from moontv.storage.protocol import Storage

Role = Literal["owner", "admin", "user"]
USERNAME_RE = re.compile(r"^[^\s:*?\[\]/\\+]{1,32}$")
MAX_PASSWORD = 256


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    role: Role
    banned: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin") and not self.banned


class AuthError(ServiceError):
    """A refused auth operation; ``status`` and ``message`` go to the client as they are
    (a 401 also says ``"ok": false``; a throttled one carries ``Retry-After``)."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        headers = {} if retry_after is None else {"Retry-After": str(max(1, math.ceil(retry_after)))}
        extra = {"ok": False} if status == 401 else {}
        super().__init__(status, message, headers=headers, **extra)
        self.retry_after = retry_after


def validate_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise AuthError(400, "用户名需为 1-32 个字符，且不能包含空白或 : * ? [ ] / \\ +")
    return username


def validate_password(password: str) -> str:
    if not password:
        raise AuthError(400, "密码不能为空")
    if len(password) > MAX_PASSWORD:
        raise AuthError(400, f"密码不能超过 {MAX_PASSWORD} 个字符")
    return password


class AuthService:
    def __init__(
        self,
        storage: Storage,
        config: ConfigService,
        settings: Settings,
        signer: TokenSigner,
        limiter: SlidingWindowLimiter,
    ) -> None:
        self._storage = storage
        self._config = config
        self._settings = settings
        self.signer = signer
        self._limiter = limiter

    @property
    def owner(self) -> str:
        return self._settings.username

    async def login(self, username: str | None, password: str, client_ip: str) -> tuple[str, Principal]:
        username = (username or "").strip() or self.owner
        validate_password(password)
        throttle_key = f"{client_ip}|{username}"
        wait = self._limiter.retry_after(throttle_key)
        if wait > 0:
            raise AuthError(429, "登录尝试过于频繁，请稍后再试", retry_after=wait)
        try:
            principal = await self._check_credentials(username, password)
        except AuthError as exc:
            if exc.status == 401:
                self._limiter.hit(throttle_key)
            raise
        self._limiter.reset(throttle_key)
        return await self.issue(principal.username), principal

    async def _check_credentials(self, username: str, password: str) -> Principal:
        if username == self.owner:
            configured = self._settings.password
            if not configured or not hmac.compare_digest(configured.encode(), password.encode()):
                raise AuthError(401, "用户名或密码错误")
            return Principal(username, "owner")
        snapshot = await self._config.get()
        entry = find_user(snapshot.config, username)
        if entry is not None and entry.get("banned"):
            raise AuthError(401, "用户被封禁")
        stored = await self._storage.get_password_hash(username)
        result = verify_password(stored, password)
        if not result.ok:
            raise AuthError(401, "用户名或密码错误")
        if result.needs_rehash:
            await self._storage.set_password_hash(username, hash_password(password))
        role: Role = "admin" if entry is not None and entry.get("role") == "admin" else "user"
        return Principal(username, role)

    async def issue(self, username: str) -> str:
        epoch = await self._storage.get_session_epoch(username)
        return self.signer.issue(username, epoch)

    async def authenticate(self, token: str | None) -> Principal | None:
        if not token:
            return None
        claims = self.signer.verify(token)
        if claims is None:
            return None
        if await self._storage.get_session_epoch(claims.username) != claims.epoch:
            return None
        return await self.principal_for(claims.username)

    async def principal_for(self, username: str) -> Principal | None:
        if username == self.owner:
            return Principal(username, "owner")
        snapshot = await self._config.get()
        entry = find_user(snapshot.config, username)
        if entry is None:
            return None
        role: Role = "admin" if entry.get("role") == "admin" else "user"
        return Principal(username, role, bool(entry.get("banned")))

    async def register(self, username: str, password: str) -> tuple[str, Principal]:
        snapshot = await self._config.get()
        if not snapshot.config["UserConfig"].get("AllowRegister"):
            raise AuthError(400, "当前未开放注册")
        username = validate_username(username)
        validate_password(password)
        await self.create_user(username, password)
        return await self.issue(username), Principal(username, "user")

    async def create_user(self, username: str, password: str) -> None:
        if username == self.owner or await self._storage.user_exists(username):
            raise AuthError(400, "用户已存在")
        snapshot = await self._config.get()
        if find_user(snapshot.config, username) is not None:
            raise AuthError(400, "用户已存在")
        await self._storage.set_password_hash(username, hash_password(password))
        # A fresh epoch: tokens of an earlier account with the same name stay invalid.
        await self._storage.bump_session_epoch(username)

        def add(config: dict) -> None:
            if find_user(config, username) is None:
                config["UserConfig"]["Users"].append({"username": username, "role": "user"})

        await self._config.update(add)

    async def change_password(self, principal: Principal, new_password: str) -> str:
        """Set a new password, revoke every other session and return a fresh token."""
        if principal.role == "owner":
            raise AuthError(403, "站长不能通过此接口修改密码")
        if not new_password:
            raise AuthError(400, "新密码不得为空")
        validate_password(new_password)
        await self.set_password(principal.username, new_password)
        return await self.issue(principal.username)

    async def set_password(self, username: str, new_password: str) -> None:
        await self._storage.set_password_hash(username, hash_password(new_password))
        await self._storage.bump_session_epoch(username)

    async def revoke_sessions(self, username: str) -> None:
        await self._storage.bump_session_epoch(username)
