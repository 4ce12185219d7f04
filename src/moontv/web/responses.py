"""JSON responses, request bodies and cache headers shared by all routers (errors: ``moontv.errors``)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from moontv.errors import ServiceError

MAX_JSON_BODY = 1024 * 1024
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache", "Expires": "0"}


def json_response(data: Any, status: int = 200, *, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type="application/json")


def private_cache(seconds: int) -> dict[str, str]:
    # Vary: a browser that signs in as someone else must not reuse the previous user's answer.
    return {"Cache-Control": f"private, max-age={seconds}", "Vary": "Cookie, Authorization"}


async def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx ServiceError with a clear message."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_JSON_BODY):
        raise ServiceError(413, "请求体过大")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise ServiceError(413, "请求体过大")
    if not body.strip():
        raise ServiceError(400, "请求体不能为空")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ServiceError(400, "请求体不是合法的 JSON") from None
    if not isinstance(data, dict):
        raise ServiceError(400, "请求体必须是 JSON 对象")
    return data
