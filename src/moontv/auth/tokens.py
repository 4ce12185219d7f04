"""Signed session tokens (cookie ``auth`` and ``Authorization: Bearer``).

Token = base64url(JSON payload) "." base64url(HMAC-SHA256(secret, payload)). The payload
holds the username, the user's session epoch at issue time, the expiry, a random token id
(``POST /api/logout`` revokes that id until the token would have expired) and, for the
owner, a fingerprint of the ``PASSWORD`` it was issued under (a new password in the
environment invalidates every older owner token). Bumping the epoch (password change, ban,
logout-everywhere) revokes every older token. The secret is a server secret, never the
admin password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    epoch: int
    issued_at: int
    expires_at: int
    token_id: str = ""
    password_fingerprint: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes, *, ttl_seconds: int) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 bytes")
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def fingerprint(self, secret_value: str) -> str:
        """A keyed fingerprint of a secret (the owner's password), safe to put in a token."""
        digest = hmac.new(self._secret, b"moontv/owner-password\n" + secret_value.encode(), hashlib.sha256)
        return _b64(digest.digest()[:16])

    def issue(
        self, username: str, epoch: int, *, now: float | None = None, password_fingerprint: str = ""
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, object] = {
            "u": username,
            "e": epoch,
            "iat": issued,
            "exp": issued + self.ttl_seconds,
            "j": _b64(secrets.token_bytes(12)),
        }
        if password_fingerprint:
            claims["pf"] = password_fingerprint
        payload = orjson.dumps(claims)
        body = _b64(payload)
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())

    def verify(self, token: str, *, now: float | None = None) -> TokenClaims | None:
        """The claims of a valid, unexpired token; None for anything else (never raises)."""
        if not token or len(token) > 4096 or not token.isascii() or token.count(".") != 1:
            return None
        body, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            payload = orjson.loads(_unb64(body))
            claims = TokenClaims(
                str(payload["u"]),
                int(payload["e"]),
                int(payload["iat"]),
                int(payload["exp"]),
                str(payload.get("j") or ""),
                str(payload.get("pf") or ""),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if claims.expires_at <= (now if now is not None else time.time()) or not claims.username:
            return None
        return claims
