"""``Strict-Transport-Security`` on answers that reached the client over HTTPS.

HTTPS means the server itself speaks TLS (scope scheme ``https``) or a trusted proxy
(``MOONTV_TRUSTED_PROXIES``) says so in ``X-Forwarded-Proto``. A plain-HTTP answer never
carries the header (browsers ignore it there, and it would pin a site that has no TLS).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HstsMiddleware:
    def __init__(self, app: ASGIApp, *, proxies: Any, max_age: int) -> None:
        self.app = app
        self.proxies = proxies
        self.value = f"max-age={max_age}".encode()

    def _https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        proto = next((v for k, v in scope.get("headers") or [] if k == b"x-forwarded-proto"), None)
        if proto is None:
            return False
        peer = (scope.get("client") or (None,))[0]
        return self.proxies.forwarded(peer, proto.decode("latin-1")) == "https"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._https(scope):
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    h for h in message.get("headers", []) if h[0].lower() != b"strict-transport-security"
                ]
                headers.append((b"strict-transport-security", self.value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_hsts)
