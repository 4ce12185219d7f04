"""Route inputs are declared: ``/api/openapi.json`` lists each route's query parameters, bad values get
MoonTV's own error strings from the one validation handler, and no API route reads the raw query
except the ones that say why."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.inprocess import InProcessApp

DECLARED: dict[tuple[str, str], set[str]] = {
    ("get", "/api/danmaku/search"): {"anime"},
    ("get", "/api/danmaku/match"): {"title", "episode_title", "index", "platform"},
    ("get", "/api/danmaku/choice"): {"key"},
    ("delete", "/api/danmaku/choice"): {"key"},
    ("get", "/api/live/channels"): {"source"},
    ("get", "/api/live/epg"): {"source", "tvgId", "channel", "name", "date"},
    ("get", "/api/proxy/live"): {"source", "url", "exp", "sig"},
    ("delete", "/api/live/favorites"): {"key"},
    ("get", "/api/admin/live/health"): {"source"},
    ("get", "/api/downloads"): {"all"},
    ("get", "/api/downloads/events"): {"all"},
    ("get", "/api/tvbox/config"): {"token", "filter", "format", "base64"},
    ("get", "/api/tvbox/categories"): {"token", "t", "wd", "ids", "pg", "pagesize"},
    ("get", "/api/tvbox/s/{token}/categories"): {"t", "wd", "ids", "pg", "pagesize"},
    ("get", "/api/tvbox/s/{token}/categories/{filters}"): {"t", "wd", "ids", "pg", "pagesize"},
    ("get", "/api/tvbox/s/{token}/m3u8/{key}"): {"url"},
}

# (path, query, status, error): MoonTV's strings, unchanged by the move to declared parameters.
BAD_INPUT = [
    ("/api/danmaku/search", "", 400, "缺少参数 anime"),
    ("/api/danmaku/search", "anime=" + "x" * 101, 400, "参数 anime 过长"),
    ("/api/danmaku/match", "title=a&index=x", 400, "参数 index 无效"),
    ("/api/danmaku/match", "title=a&index=100001", 400, "参数 index 无效"),
    ("/api/danmaku/match", "index=1", 400, "缺少参数 title"),
    ("/api/danmaku/choice", "key=" + "k" * 513, 400, "参数 key 过长"),
    ("/api/live/channels", "", 400, "缺少 source 参数"),
    ("/api/live/channels", "source=%20%20", 400, "缺少 source 参数"),
    ("/api/live/channels", "source=" + "s" * 129, 400, "source 参数过长"),
    ("/api/live/channels", "source=nope", 404, "未找到直播源: nope"),
    ("/api/live/epg", "source=a&tvgId=" + "t" * 257, 400, "tvgId 参数过长"),
    ("/api/live/epg", "source=a&tvgId=x&date=2024-13-45", 400, "date 参数格式应为 YYYY-MM-DD"),
    ("/api/live/epg", "source=a&tvgId=x&date=2024-01-011", 400, "date 参数过长"),
    ("/api/admin/live/health", "", 400, "缺少 key 参数"),
]


def _query_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


async def test_openapi_lists_the_declared_query_parameters(inprocess_app: Any) -> None:
    app: InProcessApp = await inprocess_app()
    owner = await app.client(as_user="admin")
    answer = await owner.get("/api/openapi.json")
    assert answer.status_code == 200
    paths = answer.json()["paths"]
    for (method, path), names in DECLARED.items():
        assert _query_names(paths[path][method]) == names, (method, path)


async def test_bad_query_values_keep_moontv_error_strings(inprocess_app: Any) -> None:
    app: InProcessApp = await inprocess_app()
    owner = await app.client(as_user="admin")
    for path, query, status, error in BAD_INPUT:
        answer = await owner.get(f"{path}?{query}" if query else path)
        assert (answer.status_code, answer.json().get("error")) == (status, error), (path, query)
    tvbox = await owner.get("/api/tvbox/categories?token=wrong&pg=x")
    assert tvbox.status_code in (401, 403)  # the token is judged before the parameters


def test_only_documented_routes_read_the_raw_query() -> None:
    """An API route reads ``request.query_params`` only with a one-line reason next to it."""
    web = REPO / "src" / "moontv" / "web"
    undocumented = []
    for path in sorted(Path(web).rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "query_params" not in line or line.lstrip().startswith("#"):
                continue
            before = lines[max(0, number - 3) : number]
            if not any(re.match(r"\s*# Raw on purpose|\s*# Read raw on purpose", b) for b in before):
                undocumented.append(f"{path.relative_to(REPO)}:{number + 1}")
    assert not undocumented, undocumented
