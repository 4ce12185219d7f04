"""JSON responses, API errors and cache headers shared by all routers."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

MAX_JSON_BODY = 1024 * 1024
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache", "Expires": "0"}


class ApiError(Exception):
    """Answered as ``{"error": message, ...extra}`` with ``status``."""

    def __init__(
        self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> Response:
        return json_response({"error": self.message, **self.extra}, self.status, headers=self.headers)


def json_response(data: Any, status: int = 200, *, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type="application/json")


def private_cache(seconds: int) -> dict[str, str]:
    # Vary: a browser that signs in as someone else must not reuse the previous user's answer.
    return {"Cache-Control": f"private, max-age={seconds}", "Vary": "Cookie, Authorization"}


def public_cache(seconds: int) -> dict[str, str]:
    # Per-user answers are never marked for shared caches (a CDN would leak them across users).
    return {"Cache-Control": f"private, max-age={seconds}", "Vary": "Cookie, Authorization"}


async def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx ApiError with a clear message."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_JSON_BODY):
        raise ApiError(413, "请求体过大")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise ApiError(413, "请求体过大")
    if not body.strip():
        raise ApiError(400, "请求体不能为空")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "请求体不是合法的 JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "请求体必须是 JSON 对象")
    return data
