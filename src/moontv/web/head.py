"""HEAD wherever GET: FastAPI's routes answer only the methods they declare (`curl -I /login` would be
405), so a HEAD request is routed as the GET it asks about. The server (uvicorn) keeps the request's
own method and sends no body for HEAD, so the GET handler serves both: same status, same headers."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)
