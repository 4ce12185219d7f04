"""The real app in the test's own event loop, without a socket: ``httpx.ASGITransport`` plus the app's
lifespan. For tests that need no real network (routing, permissions, validation, JSON shapes); keep
``tests.support.LiveServer`` where the socket matters (streaming, SSE, browsers, disconnects)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx

from moontv.app import create_app
from moontv.settings import Settings
from moontv.web.state import AppState


class InProcessApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> InProcessApp:
        await self._stack.enter_async_context(self.app.router.lifespan_context(self.app))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    @property
    def state(self) -> AppState:
        state: AppState = self.app.state.moontv
        return state

    async def add_user(self, name: str, password: str = "pw-123", **entry: Any) -> None:
        """A user created the way the admin API does (credential + config entry, e.g. ``role``)."""
        await self.state.auth.create_user(name, password)
        if entry:

            def mutate(config: dict[str, Any]) -> None:
                for user in config["UserConfig"]["Users"]:
                    if user["username"] == name:
                        user.update(entry)

            await self.state.config.update(mutate)

    async def client(self, as_user: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """A client of the app; signed in as ``as_user`` (a session token as the ``auth`` cookie).
        Keyword arguments go to ``httpx.AsyncClient`` (``follow_redirects``, ``headers``...)."""
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver", timeout=30, **kwargs
        )
        self._stack.push_async_callback(client.aclose)
        if as_user is not None:
            client.cookies.set("auth", await self.state.auth.issue(as_user))
        return client

    async def login(self, username: str = "admin", password: str = "test") -> httpx.AsyncClient:
        """A client signed in through ``POST /api/login`` (the cookie the app itself sets)."""
        client = await self.client()
        response = await client.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return client
