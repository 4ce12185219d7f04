"""The /static mount: files named with a ``?v=<content hash>`` are served as the hash says; the others (the
play page's ES modules, which import each other by plain relative URLs) must be revalidated on every use,
so a browser never runs a new module together with a stale one after an upgrade."""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class VersionedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if b"v=" not in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "no-cache"
        return response
