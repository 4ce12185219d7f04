"""The fields each admin request may carry. An unknown field is a 400, never silently ignored
(``sources`` sent instead of ``sourceKeys`` must not clear an allow-list). The admin services validate
the values themselves (with MoonTV's messages); these models only close the set of field names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from moontv.errors import ServiceError


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Any = None


class ConfigFileRequest(_Request):
    configFile: Any = None
    preview: Any = None


class SiteRequest(_Request):
    SiteName: Any = None
    Announcement: Any = None
    SearchDownstreamMaxPage: Any = None
    SiteInterfaceCacheTime: Any = None
    DoubanProxyType: Any = None
    DoubanProxy: Any = None
    DoubanImageProxyType: Any = None
    DoubanImageProxy: Any = None
    DisableYellowFilter: Any = None
    DanmakuApiBaseUrl: Any = None
    TVBoxEnabled: Any = None
    TVBoxPassword: Any = None
    WebLiveEnabled: Any = None


class SourceRequest(_Request):
    action: Any = None
    key: Any = None
    name: Any = None
    api: Any = None
    detail: Any = None
    order: Any = None
    keys: Any = None


class CategoryRequest(_Request):
    action: Any = None
    name: Any = None
    type: Any = None
    query: Any = None
    order: Any = None


class GroupRequest(_Request):
    action: Any = None
    name: Any = None
    newName: Any = None
    sourceKeys: Any = None
    users: Any = None


class UserRequest(_Request):
    action: Any = None
    targetUsername: Any = None
    targetPassword: Any = None
    allowRegister: Any = None
    group: Any = None
    sourceKeys: Any = None


class SourceCheckRequest(_Request):
    query: Any = None
    keys: Any = None


class SubscriptionRequest(_Request):
    action: Any = None
    subscriptionUrl: Any = None
    url: Any = None
    importMode: Any = None
    autoUpdate: Any = None
    updateInterval: Any = None


class TvboxRequest(_Request):
    action: Any = None
    enabled: Any = None
    username: Any = None


class ExportRequest(_Request):
    password: Any = None


def only_known_fields(model: type[_Request], body: dict[str, Any]) -> dict[str, Any]:
    """``body`` unchanged when every field is one ``model`` declares; else 400 naming the first unknown."""
    try:
        model.model_validate(body)
    except ValidationError as exc:
        unknown = [str(e["loc"][0]) for e in exc.errors() if e["type"] == "extra_forbidden" and e["loc"]]
        raise ServiceError(400, f"未知的字段: {unknown[0]}" if unknown else "参数格式错误") from None
    return body
