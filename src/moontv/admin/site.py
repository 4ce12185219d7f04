"""Site settings (``POST /api/admin/site``)."""

from __future__ import annotations

from typing import Any

from moontv.admin import AdminError
from moontv.admin.common import http_url
from moontv.config import document
from moontv.config.admin import config_file_text
from moontv.config.file import ConfigFileError, parse_config_text
from moontv.douban.client import PROXY_TYPES

IMAGE_PROXY_TYPES = ("direct", "server", "img3", "cmliussss-cdn-tencent", "cmliussss-cdn-ali", "custom")
STRINGS = {
    "SiteName": 100,
    "Announcement": 5000,
    "DoubanProxy": 2048,
    "DoubanImageProxy": 2048,
    "DanmakuApiBaseUrl": 2048,
}
BOOLS = ("DisableYellowFilter", "TVBoxEnabled", "WebLiveEnabled")
BAD = "参数格式错误"


def _int(body: dict[str, Any], name: str, low: int, high: int) -> int:
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise AdminError(400, BAD)
    if int(value) != value or not low <= value <= high:
        raise AdminError(400, f"{name} 必须是 {low}-{high} 之间的整数")
    return int(value)


def clean(body: dict[str, Any]) -> dict[str, Any]:
    """The validated subset of SiteConfig fields present in ``body`` (any subset may be sent)."""
    out: dict[str, Any] = {}
    for name, limit in STRINGS.items():
        if name in body:
            value = body[name]
            if not isinstance(value, str) or len(value) > limit:
                raise AdminError(400, BAD)
            out[name] = value.strip() if name != "Announcement" else value
    if "SiteName" in out and not out["SiteName"]:
        raise AdminError(400, "站点名称不能为空")
    for name in BOOLS:
        if name in body:
            if not isinstance(body[name], bool):
                raise AdminError(400, BAD)
            out[name] = body[name]
    if "SearchDownstreamMaxPage" in body:
        out["SearchDownstreamMaxPage"] = _int(body, "SearchDownstreamMaxPage", 1, 50)
    if "SiteInterfaceCacheTime" in body:
        out["SiteInterfaceCacheTime"] = _int(body, "SiteInterfaceCacheTime", 0, 30 * 86400)
    if "DoubanProxyType" in body:
        if body["DoubanProxyType"] not in PROXY_TYPES:
            raise AdminError(400, "豆瓣数据代理类型无效")
        out["DoubanProxyType"] = body["DoubanProxyType"]
    if "DoubanImageProxyType" in body:
        if body["DoubanImageProxyType"] not in IMAGE_PROXY_TYPES:
            raise AdminError(400, "豆瓣图片代理类型无效")
        out["DoubanImageProxyType"] = body["DoubanImageProxyType"]
    for url in ("DoubanProxy", "DoubanImageProxy"):
        if out.get(url):
            out[url] = http_url(out[url], "自定义代理地址必须是 http(s) URL")
    if out.get("DanmakuApiBaseUrl"):
        out["DanmakuApiBaseUrl"] = http_url(out["DanmakuApiBaseUrl"], "弹幕接口地址必须是 http(s) URL")
    if "TVBoxPassword" in body and not isinstance(body["TVBoxPassword"], str):
        raise AdminError(400, BAD)
    if not out:
        raise AdminError(400, BAD)
    return out


def apply(config: dict[str, Any], fields: dict[str, Any]) -> None:
    site = document.site(config)
    site.update(fields)
    if site.get("DoubanProxyType") == "custom" and not site.get("DoubanProxy"):
        raise AdminError(400, "自定义豆瓣数据代理需要填写代理地址")
    if site.get("DoubanImageProxyType") == "custom" and not site.get("DoubanImageProxy"):
        raise AdminError(400, "自定义豆瓣图片代理需要填写代理地址")
    if "SiteInterfaceCacheTime" in fields:
        # MoonTV keeps cache_time in the config file too (the file value wins on every read).
        try:
            file_cfg = parse_config_text(document.config_file(config) or "{}")
        except ConfigFileError:
            return
        file_cfg["cache_time"] = fields["SiteInterfaceCacheTime"]
        document.set_config_file(config, config_file_text(file_cfg))
