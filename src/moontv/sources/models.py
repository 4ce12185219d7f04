"""Data shapes shared by the source client and its callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class ApiSite:
    """One configured upstream: ``api`` is the provide root, e.g. ``https://x/api.php/provide/vod``."""

    key: str
    name: str
    api: str
    detail: str = ""


class SearchResult(BaseModel):
    """The MoonTV wire shape of one title (``/api/search``, ``/api/detail``), fields in wire order.

    The parser (``moontv.sources.parse``) builds these as plain dicts on the hot path; this model is
    their one description (OpenAPI, tests), not a per-result validation step.
    """

    model_config = ConfigDict(populate_by_name=True)

    id: str
    title: str
    poster: str
    episodes: list[str] = Field(description="playable .m3u8 URLs")
    episodes_titles: list[str]
    source: str = Field(description="the source key")
    source_name: str
    class_: str = Field("", alias="class")
    year: str = Field(description='four digits or "unknown"')
    desc: str = ""
    type_name: str = ""
    douban_id: int = Field(0, description="0 when unknown")


@dataclass(slots=True)
class SearchPage:
    """One parsed upstream page.

    ``raw_count`` counts items before the adult filter (needed for the "结果被过滤" rule),
    ``items`` are after it (when the caller asked for filtering).
    """

    items: list[dict[str, Any]]
    raw_count: int
    pagecount: int
    page: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class SourceError(Exception):
    """An upstream request failed. ``kind`` selects the user-facing message.

    kinds: ``timeout`` (请求超时), ``http`` (请求失败: non-2xx), ``network`` (网络错误),
    ``parse`` (body is not a CMS answer), ``too_large`` (body over the size cap),
    ``closed`` (the CMS says "closed"), ``rate_limited`` (HTTP 429),
    ``circuit_open`` (skipped: the source keeps failing), ``blocked`` (the SSRF guard refused
    the destination; the same answer whatever listens there).
    """

    MESSAGES: ClassVar[dict[str, str]] = {
        "timeout": "请求超时",
        "http": "请求失败",
        "network": "网络错误",
        "circuit_open": "源暂时不可用",
        "rate_limited": "请求过于频繁",
        "closed": "接口已关闭",
        "too_large": "响应过大",
        "blocked": "地址不允许访问",
    }

    def __init__(self, kind: str, detail: str = "", *, status: int | None = None) -> None:
        self.kind = kind
        self.detail = detail
        self.status = status  # the upstream HTTP status for ``http``/``rate_limited``
        super().__init__(self.user_message)

    @property
    def user_message(self) -> str:
        if self.kind in self.MESSAGES:
            return self.MESSAGES[self.kind]
        if self.kind == "parse":
            return f"数据解析失败: {self.detail}" if self.detail else "数据解析失败"
        return self.detail or "未知的错误"
