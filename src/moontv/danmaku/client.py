"""The danmu_api HTTP client: every request goes through the SSRF guard, with a timeout and a body cap."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from moontv.errors import ServiceError
from moontv.streams.netguard import BlockedURL


class DanmuApiError(ServiceError):
    """The danmu server could not be used; ``status`` is what our API answers (502 or 504)."""


class DanmuApiClient:
    def __init__(self, http: httpx.AsyncClient, *, max_body: int) -> None:
        self.http = http
        self.max_body = max_body

    async def request(
        self, base_url: str, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> bytes:
        url = base_url.rstrip("/") + path
        content = orjson.dumps(body) if body is not None else None
        headers = {"Accept": "application/json, application/xml;q=0.9", "User-Agent": "MoonTV"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self.http.stream(
                method, url, params=params, content=content, headers=headers
            ) as response:
                if response.status_code != 200:
                    raise DanmuApiError(502, f"弹幕服务返回 HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_body:
                    raise DanmuApiError(502, "弹幕数据过大")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_body:
                        raise DanmuApiError(502, "弹幕数据过大")
                    chunks.append(chunk)
                return b"".join(chunks)
        except BlockedURL as exc:
            raise DanmuApiError(502, f"弹幕服务地址不可用：{exc.reason}") from None
        except httpx.TimeoutException:
            raise DanmuApiError(504, "弹幕服务超时") from None
        except httpx.HTTPError as exc:
            raise DanmuApiError(502, f"弹幕服务连接失败：{type(exc).__name__}") from None

    async def request_json(
        self, base_url: str, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        raw = await self.request(base_url, method, path, params=params, body=body)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise DanmuApiError(502, "弹幕服务返回了无效的 JSON") from None
        if not isinstance(data, dict):
            raise DanmuApiError(502, "弹幕服务返回了无效的 JSON")
        return data
