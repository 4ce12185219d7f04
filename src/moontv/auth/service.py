"""Login, registration, password changes and request authentication."""

from __future__ import annotations

import hmac
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from moontv.auth.passwords import dummy_hash, hash_password, verify_password
from moontv.auth.throttle import LoginLimits, LoginThrottle
from moontv.auth.tokens import TokenClaims, TokenSigner
from moontv.auth.usernames import canonical, new_username_problem
from moontv.config import document
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


def _revoked(token_id: str) -> str:
    return f"revoked:{token_id}"


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
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._storage = storage
        self._config = config
        self._settings = settings
        self.signer = signer
        self._throttle = throttle or LoginThrottle(
            storage,
            LoginLimits(
                settings.login_rate_limit, settings.login_user_rate_limit, settings.login_global_rate_limit
            ),
        )
        # The owner's PASSWORD is checked through the same slow hash as everyone's (hashed once, at
        # the first owner login rather than at start-up).
        self._owner_hash: str | None = None
        self._owner_fingerprint = signer.fingerprint(settings.password) if settings.password else ""

    @property
    def owner(self) -> str:
        return self._settings.username

    async def login(self, username: str | None, password: str, client_ip: str) -> tuple[str, Principal]:
        """Same answer and the same hashing work for an unknown user and a wrong password;
        a ban is only revealed to someone who knows the password."""
        username = (username or "").strip() or self.owner
        validate_password(password)
        throttle_key = canonical(username)
        wait = await self._throttle.retry_after(client_ip, throttle_key)
        if wait > 0:
            raise AuthError(429, "登录尝试过于频繁，请稍后再试", retry_after=wait)
        principal = await self._check_credentials(username, password)
        if principal is None:
            await self._throttle.failed(client_ip, throttle_key)
            raise AuthError(401, "用户名或密码错误")
        await self._throttle.succeeded(throttle_key)
        if principal.banned:
            raise AuthError(401, "用户被封禁")
        return await self.issue(principal.username), principal

    async def _check_credentials(self, username: str, password: str) -> Principal | None:
        dummy_hash()  # made on the first login of any kind, so that one costs the same for every name
        if username == self.owner:
            if not self._settings.password:
                verify_password(dummy_hash(), password)
                return None
            if self._owner_hash is None:
                self._owner_hash = hash_password(self._settings.password)
            return Principal(username, "owner") if verify_password(self._owner_hash, password).ok else None
        stored = await self._storage.get_password_hash(username)
        result = verify_password(stored or dummy_hash(), password)
        if stored is None or not result.ok:
            return None
        if result.needs_rehash:
            await self._storage.set_password_hash(username, hash_password(password))
        entry = (await self._config.view()).user(username)
        role: Role = "admin" if entry is not None and entry.role == "admin" else "user"
        return Principal(username, role, entry is not None and entry.banned)

    async def issue(self, username: str) -> str:
        epoch = await self._storage.get_session_epoch(username)
        fingerprint = self._owner_fingerprint if username == self.owner else ""
        return self.signer.issue(username, epoch, password_fingerprint=fingerprint)

    async def authenticate(self, token: str | None) -> Principal | None:
        claims = self._claims(token)
        if claims is None:
            return None
        if claims.username == self.owner and (
            not self._owner_fingerprint
            or not hmac.compare_digest(claims.password_fingerprint, self._owner_fingerprint)
        ):
            return None  # issued under another PASSWORD
        if await self._storage.get_session_epoch(claims.username) != claims.epoch:
            return None
        if claims.token_id and await self._storage.get_counter(_revoked(claims.token_id)):
            return None
        return await self.principal_for(claims.username)

    def _claims(self, token: str | None) -> TokenClaims | None:
        return self.signer.verify(token) if token else None

    async def revoke_token(self, token: str | None) -> None:
        """End the session of this one token (logout); other devices stay signed in."""
        claims = self._claims(token)
        if claims is None or not claims.token_id:
            return
        remaining = int(claims.expires_at - time.time()) + 1
        if remaining > 0:
            await self._storage.incr_counter(_revoked(claims.token_id), remaining)

    async def banned_by_token(self, token: str | None) -> bool:
        """True when ``token`` is a genuine, unexpired session of a user who has since been banned (banning
        revokes the session, so the login page is the only place left to say why)."""
        claims = self.signer.verify(token) if token else None
        if claims is None or claims.username == self.owner:
            return False
        entry = (await self._config.view()).user(claims.username)
        return entry is not None and entry.banned

    async def principal_for(self, username: str) -> Principal | None:
        if username == self.owner:
            return Principal(username, "owner")
        entry = (await self._config.view()).user(username)
        if entry is None:
            return None
        role: Role = "admin" if entry.role == "admin" else "user"
        return Principal(username, role, entry.banned)

    async def register(self, username: str, password: str) -> tuple[str, Principal]:
        if not (await self._config.view()).allow_register:
            raise AuthError(400, "当前未开放注册")
        username = validate_username(username)
        validate_password(password)
        await self.create_user(username, password)
        return await self.issue(username), Principal(username, "user")

    async def create_user(self, username: str, password: str) -> None:
        problem = new_username_problem(username)
        if problem is not None:
            raise AuthError(400, problem)
        wanted = canonical(username)
        taken = {self.owner, *await self._storage.list_users()}
        taken.update((await self._config.view()).usernames())
        if any(canonical(name) == wanted for name in taken if name):
            raise AuthError(400, "用户已存在")
        await self._storage.set_password_hash(username, hash_password(password))
        # A fresh epoch: tokens of an earlier account with the same name stay invalid.
        await self._storage.bump_session_epoch(username)

        def add(config: dict[str, Any]) -> None:
            if document.find_user(config, username) is None:
                document.users(config).append({"username": username, "role": "user"})

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
