"""Walking the app's route table (its OpenAPI description) so that a route added later is covered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.inprocess import InProcessApp

DEAD = "http://127.0.0.1:9"  # refuses connections at once: upstream calls fail fast, no network
DEAD_API = f"{DEAD}/api.php/provide/vod"
PLAUSIBLE: dict[str, str] = {
    "q": "测试",
    "id": "1",
    "ids": "1",
    "url": f"{DEAD}/v.m3u8",
    "key": "allowed+1",
    "keyword": "测试",
    "type": "movie",
    "tag": "热门",
    "kind": "movie",
    "category": "热门",
    "anime": "测试",
    "title": "测试",
    "ep": "0",
    "wait": "0",
    "t": "1",
    "pg": "1",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    query: tuple[str, ...]

    def url(self, **path_values: str) -> str:
        values = {"job_id": "nope", "task_id": "nope", "episode_id": "1", "filters": "none", "key": "allowed"}
        values.update(path_values)
        return self.path.format(**values)


def routes(app: InProcessApp) -> Iterator[Route]:
    paths: dict[str, dict[str, Any]] = app.app.openapi()["paths"]
    for path, operations in sorted(paths.items()):
        for method, operation in sorted(operations.items()):
            query = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            yield Route(method.upper(), path, query)


def plausible(route: Route, **overrides: str) -> dict[str, str]:
    params = {name: PLAUSIBLE[name] for name in route.query if name in PLAUSIBLE}
    params.update(overrides)
    return params


def signed_link(app: InProcessApp, kind: str, source: str, user: str) -> dict[str, str]:
    url = f"{DEAD}/seg.ts"
    exp = int(time.time()) + 600
    sig = app.state.streams.sign(kind, source, url, user, exp)
    return {"url": url, "source": source, "exp": str(exp), "sig": sig}


async def enable_tvbox(app: InProcessApp, user: str) -> str:
    def enable(config: dict[str, Any]) -> None:
        config["SiteConfig"]["TVBoxEnabled"] = True

    await app.state.config.update(enable)
    token, _ = await app.state.tvbox.issue(user)
    return token
