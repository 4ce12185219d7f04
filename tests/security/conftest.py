"""Fixtures for the adversarial suite: the real app over HTTP, attacked the way a client would.

Most attacks do not depend on the storage backend and run on SQLite only; the ones about
shared state (login limits, concurrent writes) ask for both backends with
``@pytest.mark.parametrize("storage_kind", ["sqlite", "redis"], indirect=True)``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.streams.conftest import cdn, hls_root, target  # noqa: F401  (fixtures reused here)
from tests.support import LiveServer


@pytest.fixture(params=["sqlite"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def add_user(server: LiveServer, name: str, password: str, **entry: Any) -> None:
    """A plain user, created the way the admin API does (credential + config entry)."""

    async def create() -> None:
        await server.state.auth.create_user(name, password)
        if entry:

            def mutate(config: dict[str, Any]) -> None:
                for user in config["UserConfig"]["Users"]:
                    if user["username"] == name:
                        user.update(entry)

            await server.state.config.update(mutate)

    server.call(create())


def signed(server: LiveServer, kind: str, url: str, user: str, source: str = "") -> dict[str, str]:
    """Query parameters of a proxy link the app would sign for ``user``."""
    exp = int(time.time()) + 600
    sig = server.state.streams.sign(kind, source, url, user, exp)
    return {"url": url, "source": source, "exp": str(exp), "sig": sig}
