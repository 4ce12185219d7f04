"""The web UI: server-rendered pages (login, home, search, play, warning, 404), PWA files.

Pages are Jinja templates rendered with a strict Content-Security-Policy (no inline scripts or styles); each
page's data for its script travels in a ``<script type="application/json" id="boot">`` block, which the
browser never executes. Every string from upstream sources is escaped by Jinja here and inserted with
``textContent`` by the scripts.

Other routers render their own pages through ``render(request, "x.html", **context)`` (templates extending
``base.html``): the navigation, theme, language and boot data then come for free.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from moontv import __version__
from moontv.auth.service import Principal
from moontv.config.admin import available_sites
from moontv.web.deps import OptionalUser, State, optional_user

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
router = APIRouter()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https: http:; "
    "media-src 'self' blob: https: http:; connect-src 'self' https: http:; worker-src 'self' blob:; "
    "manifest-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
LANGS = ("zh-CN", "en")
THEMES = ("system", "light", "dark")
SHELL_ASSETS = (
    "app.css",
    "app.js",
    "home.js",
    "search.js",
    "play.js",
    "login.js",
    "icons.svg",
    "icons/icon.svg",
    "icons/icon-192.png",
    "vendor/hls.min.js",
    "vendor/hls.worker.js",
)


# -- assets -------------------------------------------------------------------------------------------


_asset_hashes: dict[str, tuple[float, str]] = {}


def asset_version(name: str) -> str:
    """Short content hash of a static file (cached per modification time); "0" when it is missing."""
    path = STATIC_DIR / name
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return "0"
    cached = _asset_hashes.get(name)
    if cached and cached[0] == mtime:
        return cached[1]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    _asset_hashes[name] = (mtime, digest)
    return digest


def asset(name: str) -> str:
    """``/static/<name>?v=<content hash>``: long-cacheable, busted when the file changes."""
    return f"/static/{name}?v={asset_version(name)}"


def shell_version() -> str:
    return hashlib.sha256("".join(asset_version(n) for n in SHELL_ASSETS).encode()).hexdigest()[:12]


# -- rendering ----------------------------------------------------------------------------------------


def request_lang(request: Request) -> str:
    value = request.cookies.get("lang", "")
    return value if value in LANGS else LANGS[0]


def _theme(request: Request) -> str:
    value = request.cookies.get("theme", "")
    return value if value in THEMES else "system"


def _base_context(request: Request) -> dict[str, Any]:
    """Context every template gets, whoever renders it (also pages of other routers)."""
    state = getattr(request.app.state, "moontv", None)
    lang = request_lang(request)
    principal = request.scope.get("moontv.principal") or None
    site_name = request.scope.get("moontv.site_name") or (state.settings.site_name if state else "MoonTV")
    boot: dict[str, Any] = {
        "lang": lang,
        "siteName": site_name,
        "version": __version__,
        "user": _user_json(principal),
        "i18n": CATALOG[lang],
        "imageProxy": request.scope.get("moontv.image_proxy") or {"type": "server", "url": ""},
        "page": request.scope.get("moontv.page_boot") or {},
        "icons": asset("icons.svg"),
    }
    return {
        "t": CATALOG[lang],
        "lang": lang,
        "theme": _theme(request),
        "asset": asset,
        "site_name": site_name,
        "nav_user": principal,
        "nav_active": request.scope.get("moontv.nav", ""),
        "boot": boot,
        "version": __version__,
    }


TEMPLATES = Jinja2Templates(directory=str(WEB_DIR / "templates"), context_processors=[_base_context])
TEMPLATES.env.globals["asset"] = asset  # also inside imported macros
TEMPLATES.env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}


def _user_json(principal: Principal | None) -> dict[str, Any] | None:
    if principal is None:
        return None
    return {"username": principal.username, "role": principal.role, "isAdmin": principal.is_admin}


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin: our own POSTs carry a real Origin (the CSRF check needs it); other sites get no referrer.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    return response


async def render(
    request: Request,
    name: str,
    status: int = 200,
    *,
    boot: dict[str, Any] | None = None,
    nav: str = "",
    **context: Any,
) -> Response:
    """Render a page template (extending base.html) with the site's chrome; ``boot`` goes to the scripts."""
    state = request.app.state.moontv
    if "moontv.principal" not in request.scope:
        await optional_user(request, state)
    snapshot = await state.config.get()
    site = snapshot.config.get("SiteConfig", {})
    request.scope["moontv.site_name"] = site.get("SiteName") or state.settings.site_name
    request.scope["moontv.image_proxy"] = {
        "type": site.get("DoubanImageProxyType") or "server",
        "url": site.get("DoubanImageProxy") or "",
    }
    request.scope["moontv.page_boot"] = boot or {}
    request.scope["moontv.nav"] = nav
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return security_headers(response)


_page = render  # the core's name for it


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?redirect=" + quote(target, safe=""), 303)


def _guard(request: Request, state: State, user: Principal | None) -> Response | None:
    """A redirect when the page cannot be shown: no PASSWORD configured, or not signed in."""
    if not state.settings.password:
        return RedirectResponse("/warning", 307)
    if user is None:
        return _login_redirect(request)
    return None


# -- view models -----------------------------------------------------------------------------------


_HUES = 12


def hue(text: str) -> int:
    """A stable colour class (0..11) for a title's placeholder poster."""
    return int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:4], 16) % _HUES


def play_url(
    source: str, vod_id: str, title: str, year: str = "", stitle: str = "", stype: str = "", **extra: str
) -> str:
    params = {"source": source, "id": vod_id, "title": title}
    if year and year != "unknown":
        params["year"] = year
    if stitle and stitle != title:
        params["stitle"] = stitle
    if stype:
        params["stype"] = stype
    params.update({k: v for k, v in extra.items() if v})
    return "/play?" + urlencode(params, quote_via=quote)


def image_url(url: str, proxy: dict[str, str]) -> str:
    """The site-wide Douban image rewrite (the browser applies the user's own choice to its cards)."""
    url = _safe_url(url)
    if "doubanio.com" not in url:
        return url
    kind = proxy.get("type") or "server"
    if kind == "server":
        return "/api/image-proxy?url=" + quote(url, safe="")
    if kind == "img3":
        return re.sub(r"img\d+\.doubanio\.com", "img3.doubanio.com", url)
    if kind == "cmliussss-cdn-tencent":
        return re.sub(r"img\d+\.doubanio\.com", "img.doubanio.cmliussss.net", url)
    if kind == "cmliussss-cdn-ali":
        return re.sub(r"img\d+\.doubanio\.com", "img.doubanio.cmliussss.com", url)
    if kind == "custom" and proxy.get("url"):
        return proxy["url"] + quote(url, safe="")
    return url


def _card(
    key: str,
    item: dict[str, Any],
    kind: str,
    record: dict[str, Any] | None = None,
    proxy: dict[str, str] | None = None,
) -> dict[str, Any]:
    source, _, vod_id = key.partition("+")
    title = str(item.get("title") or "")
    total = _as_int(item.get("total_episodes"))
    index = _as_int((record or item).get("index")) if (record or kind == "record") else 0
    stype = "tv" if total > 1 else ""
    card: dict[str, Any] = {
        "key": key,
        "kind": kind,
        "source": source,
        "id": vod_id,
        "title": title,
        "initial": title[:1] or "?",
        "hue": hue(title),
        "poster": image_url(str(item.get("cover") or ""), proxy or {}),
        "poster_raw": _safe_url(str(item.get("cover") or "")),
        "year": str(item.get("year") or ""),
        "source_name": str(item.get("source_name") or ""),
        "search_title": str(item.get("search_title") or ""),
        "total": total,
        "index": index,
        "href": play_url(
            source, vod_id, title, str(item.get("year") or ""), str(item.get("search_title") or ""), stype
        ),
    }
    if record is not None or kind == "record":
        rec = record or item
        played, length = _as_int(rec.get("play_time")), _as_int(rec.get("total_time"))
        card["progress"] = min(100, round(played * 100 / length)) if length > 0 else 0
    return card


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)


def _safe_url(url: str) -> str:
    """Only http(s) image URLs reach an ``src`` attribute (no javascript:, data: from upstream)."""
    url = url.strip()
    return url if _SAFE_URL.match(url) else ""


def _sorted_items(data: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(data.items(), key=lambda kv: _as_int(kv[1].get("save_time")), reverse=True)


# -- pages ------------------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, state: State) -> Response:
    if not state.settings.password:
        return RedirectResponse("/warning", 307)
    snapshot = await state.config.get()
    allow_register = bool(snapshot.config["UserConfig"].get("AllowRegister"))
    return await render(
        request, "login.html", boot={"allowRegister": allow_register}, allow_register=allow_register
    )


@router.get("/warning")
async def warning_page(request: Request, state: State) -> Response:
    if state.settings.password:
        return RedirectResponse("/", 307)  # nothing to warn about
    t = CATALOG[request_lang(request)]
    return await render(
        request,
        "message.html",
        heading=t["warning_title"],
        message=t["warning_body"],
        detail=t["warning_detail"],
        symbol="lock",
    )


@router.get("/offline")
async def offline_page(request: Request) -> Response:
    t = CATALOG[request_lang(request)]
    return await render(
        request,
        "message.html",
        heading=t["offline_title"],
        message=t["offline_body"],
        symbol="alert",
        link="/",
    )


@router.get("/")
async def home(request: Request, state: State, user: OptionalUser) -> Response:
    if (redirect := _guard(request, state, user)) is not None:
        return redirect
    assert user is not None
    records: dict[str, dict[str, Any]] = {}
    favorites: dict[str, dict[str, Any]] = {}
    if not user.banned:
        records = await state.storage.get_all_play_records(user.username)
        favorites = await state.storage.get_all_favorites(user.username)
    snapshot = await state.config.get()
    site = snapshot.config.get("SiteConfig", {})
    proxy = {"type": site.get("DoubanImageProxyType") or "server", "url": site.get("DoubanImageProxy") or ""}
    record_cards = [_card(k, r, "record", proxy=proxy) for k, r in _sorted_items(records)]
    favorite_cards = [_card(k, f, "favorite", records.get(k), proxy) for k, f in _sorted_items(favorites)]
    announcement = str(snapshot.config.get("SiteConfig", {}).get("Announcement") or "")
    tab = request.query_params.get("tab", "home")
    if tab not in ("home", "history", "favorites"):
        tab = "home"
    return await render(
        request,
        "home.html",
        nav="home",
        boot={"announcement": announcement, "favoriteKeys": list(favorites)},
        records=record_cards,
        favorites=favorite_cards,
        tab=tab,
        banned=user.banned,
    )


@router.get("/search")
async def search_page(request: Request, state: State, user: OptionalUser) -> Response:
    if (redirect := _guard(request, state, user)) is not None:
        return redirect
    assert user is not None
    q = (request.query_params.get("q") or "").strip()[:100]
    snapshot = await state.config.get()
    sources = [{"key": s.key, "name": s.name} for s in available_sites(snapshot.config, user.username)]
    history = [] if user.banned else (await state.storage.get_search_history(user.username))[:20]
    params = {
        name: request.query_params.get(name, "")
        for name in ("sources", "filter_sources", "titles", "years", "sort", "order")
    }
    return await render(
        request,
        "search.html",
        nav="search",
        boot={"q": q, "sources": sources, "history": history, "params": params},
        q=q,
        history=history,
        no_sources=not sources,
        can_add_sources=user.is_admin,
    )


@router.get("/play")
async def play_page(request: Request, state: State, user: OptionalUser) -> Response:
    if (redirect := _guard(request, state, user)) is not None:
        return redirect
    assert user is not None
    qp = request.query_params
    params = {
        name: (qp.get(name) or "").strip()[:200]
        for name in ("source", "id", "title", "year", "stitle", "stype")
    }
    key = f"{params['source']}+{params['id']}" if params["source"] and params["id"] else ""
    record = skip = favorite = None
    if key and not user.banned:
        record = await state.storage.get_play_record(user.username, key)
        skip = await state.storage.get_skip_config(user.username, key)
        favorite = await state.storage.get_favorite(user.username, key)
    heading = params["title"] or params["stitle"]
    return await render(
        request,
        "play.html",
        boot={
            "params": params,
            "record": record,
            "skip": skip,
            "favorite": favorite is not None,
            "hlsWorker": asset("vendor/hls.worker.js"),
        },
        heading=heading,
        params=params,
    )


# -- PWA and small files ------------------------------------------------------------------------------


@router.get("/manifest.json")
async def manifest(request: Request, state: State) -> Response:
    snapshot = await state.config.get()
    name = snapshot.config.get("SiteConfig", {}).get("SiteName") or state.settings.site_name
    t = CATALOG[request_lang(request)]
    data = {
        "id": "/",
        "name": name,
        "short_name": name[:12],
        "description": t["manifest_description"],
        "lang": request_lang(request),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#0a0d12",
        "theme_color": "#0a0d12",
        "categories": ["entertainment"],
        "icons": [
            {"src": asset("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": asset("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": asset("icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": asset("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
        "shortcuts": [{"name": t["nav_search"], "url": "/search"}],
    }
    return JSONResponse(
        data, media_type="application/manifest+json", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/sw.js")
async def service_worker() -> Response:
    """The service worker, at the root so its scope is the whole site; it caches the shell only."""
    shell = ["/offline", *(asset(name) for name in SHELL_ASSETS if asset_version(name) != "0")]
    prelude = f"const SHELL_VERSION = {shell_version()!r};\nconst SHELL_ASSETS = {shell!r};\n".replace(
        "'", '"'
    )
    body = prelude + (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    return Response(
        body,
        media_type="text/javascript",
        headers={
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": "/",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/robots.txt")
async def robots() -> Response:
    return PlainTextResponse("User-agent: *\nDisallow: /\n")


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(STATIC_DIR / "icons" / "icon-192.png", media_type="image/png")


# -- 404 -------------------------------------------------------------------------------------------


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not an API or static path): answer 404 with the HTML page."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


async def not_found(request: Request) -> Response:
    t = CATALOG[request_lang(request)]
    return await render(
        request,
        "message.html",
        404,
        heading=t["notfound_title"],
        message=t["notfound_body"],
        code="404",
        symbol="search",
        link="/",
    )


# -- text ----------------------------------------------------------------------------------------------

ZH: dict[str, str] = {
    "skip_to_content": "跳到主要内容",
    "nav_home": "首页",
    "nav_search": "搜索",
    "nav_movie": "电影",
    "nav_tv": "剧集",
    "nav_anime": "动漫",
    "nav_show": "综艺",
    "nav_main": "主导航",
    "search_placeholder": "搜索电影、剧集、动漫…",
    "user_menu": "用户菜单",
    "role_owner": "站长",
    "role_admin": "管理员",
    "role_user": "用户",
    "menu_settings": "设置",
    "menu_admin": "管理面板",
    "menu_password": "修改密码",
    "menu_logout": "退出登录",
    "close": "关闭",
    "cancel": "取消",
    "save": "保存",
    "confirm": "确定",
    "settings_title": "设置",
    "settings_appearance": "外观",
    "settings_theme": "主题",
    "theme_system": "跟随系统",
    "theme_light": "浅色",
    "theme_dark": "深色",
    "settings_language": "语言",
    "settings_search": "搜索",
    "settings_aggregate": "默认聚合搜索结果",
    "settings_aggregate_hint": "把同名、同年份、同类型的结果合并为一张卡片",
    "settings_stream": "流式搜索",
    "settings_stream_hint": "每个源返回后立即显示结果",
    "settings_suggest": "搜索建议",
    "settings_timeout": "单个源超时（秒）",
    "settings_timeout_hint": "留空使用服务器默认值",
    "settings_play": "播放",
    "settings_blockad": "去广告",
    "settings_blockad_hint": "通过服务器过滤播放列表中的插播广告",
    "settings_prefer": "优选播放源",
    "settings_prefer_hint": "打开影片时测速并自动选择最佳播放源",
    "settings_image_proxy": "豆瓣图片代理",
    "site_default": "站点默认",
    "image_proxy_server": "服务器代理",
    "image_proxy_direct": "直连",
    "image_proxy_img3": "豆瓣 img3",
    "image_proxy_custom": "自定义前缀",
    "settings_reset": "恢复默认",
    "settings_saved": "设置已保存",
    "password_title": "修改密码",
    "password_new": "新密码",
    "password_repeat": "再次输入",
    "password_mismatch": "两次输入的密码不一致",
    "password_done": "密码已修改，请重新登录",
    "login_title": "登录",
    "login_welcome": "欢迎回来",
    "login_subtitle": "登录以继续观看",
    "login_username": "用户名",
    "login_password": "密码",
    "login_submit": "登录",
    "login_register": "注册新账号",
    "login_failed": "登录失败",
    "login_bad_password": "用户名或密码错误",
    "network_error": "网络错误，请重试",
    "warning_title": "需要配置访问密码",
    "warning_body": "服务器未设置 PASSWORD 环境变量。为保护您的站点，所有页面和接口已锁定。",
    "warning_detail": "请设置 USERNAME 与 PASSWORD 后重启服务，例如：PASSWORD=你的密码 scripts/serve.sh",
    "offline_title": "网络不可用",
    "offline_body": "无法连接到服务器，请检查网络后重试。",
    "notfound_title": "页面不存在",
    "notfound_body": "您访问的页面不存在或已被移动。",
    "back_home": "返回首页",
    "tab_home": "首页",
    "tab_history": "历史",
    "tab_favorites": "收藏夹",
    "continue_watching": "继续观看",
    "my_favorites": "我的收藏",
    "clear_all": "清空",
    "clear_confirm_history": "确定清空所有播放记录吗？",
    "clear_confirm_favorites": "确定清空所有收藏吗？",
    "clear_confirm_search": "确定清空搜索历史吗？",
    "view_all": "查看全部",
    "view_more": "查看更多",
    "empty_history": "暂无播放记录",
    "empty_favorites": "暂无收藏",
    "empty_hint": "搜索想看的影片，开始你的观影之旅",
    "welcome_title": "今天想看点什么？",
    "start_search": "开始搜索",
    "banned_notice": "您的账号已被封禁，无法读取个人数据。",
    "hot_movies": "热门电影",
    "hot_tv": "热门剧集",
    "hot_anime": "新番放送",
    "hot_show": "热门综艺",
    "episode_progress": "第 {i}/{n} 集",
    "episode_n": "第 {i} 集",
    "episodes_count": "{n} 集",
    "remove_record": "删除播放记录",
    "add_favorite": "加入收藏",
    "remove_favorite": "取消收藏",
    "favorited": "已收藏",
    "announcement": "公告",
    "got_it": "我知道了",
    "search_title": "搜索",
    "search_go": "搜索",
    "search_history": "搜索历史",
    "delete_keyword": "删除 {k}",
    "search_no_sources_admin": (
        "还没有视频源：在管理页添加视频源或配置订阅，或在服务器上运行 moontv sources add 名称 API地址"
    ),
    "search_no_sources_user": "还没有可用的视频源，请联系站长添加",
    "search_empty_title": "搜索影视资源",
    "search_empty_hint": "同时搜索所有视频源，结果按影片聚合",
    "search_sources_done": "{done}/{total} 个源已响应",
    "search_results_count": "共 {n} 个结果",
    "search_searching": "正在搜索…",
    "search_no_results": "没有找到「{q}」的相关结果",
    "search_no_results_hint": "换个关键词试试，或检查失败的视频源",
    "aggregate": "聚合",
    "aggregate_label": "聚合相同影片",
    "failed_sources": "失败源 ({n})",
    "failed_sources_title": "以下视频源没有返回结果",
    "filter_source": "来源",
    "filter_title": "标题",
    "filter_year": "年份",
    "filter_all": "全部",
    "sort_by": "排序",
    "sort_sources": "按源数量",
    "sort_year": "按年份",
    "sort_episodes": "按集数",
    "order_desc": "降序",
    "order_asc": "升序",
    "order_toggle": "切换升降序",
    "more_results": "更多结果",
    "n_sources": "{n} 个源",
    "unknown_year": "未知年份",
    "suggestions": "搜索建议",
    "reason_filtered": "结果被过滤",
    "reason_empty": "无搜索结果",
    "reason_timeout": "请求超时",
    "play_loading": "正在查找播放源…",
    "play_missing_params": "缺少必要参数",
    "play_not_found": "未找到匹配结果",
    "play_search_link": "影片匹配有误？点击去搜索",
    "play_error": "播放失败",
    "play_error_hint": "当前播放源可能已失效，试试切换播放源",
    "play_switch_source": "切换播放源",
    "play_retry": "重试",
    "episodes": "选集",
    "sources_tab": "换源",
    "reverse_order": "倒序",
    "prev_episode": "上一集",
    "next_episode": "下一集",
    "play": "播放",
    "pause": "暂停",
    "mute": "静音",
    "unmute": "取消静音",
    "volume": "音量",
    "seek": "播放进度",
    "playback_rate": "倍速",
    "pip": "画中画",
    "fullscreen": "全屏",
    "exit_fullscreen": "退出全屏",
    "player_settings": "播放设置",
    "skip_intro_outro": "跳过片头片尾",
    "set_intro": "设当前为片头",
    "set_outro": "设当前为片尾",
    "clear_skip": "删除跳过配置",
    "intro_at": "片头 {t}",
    "outro_at": "片尾 -{t}",
    "skipped_intro": "已跳过片头",
    "skipped_outro": "已跳过片尾",
    "skip_saved": "跳过配置已保存",
    "skip_cleared": "跳过配置已删除",
    "resumed_at": "已从 {t} 继续播放",
    "current_source": "当前",
    "best_source": "优选播放源",
    "probing": "测速中…",
    "probe_failed": "测速失败",
    "score": "评分 {s}",
    "no_other_sources": "没有找到其他播放源",
    "sources_searching": "正在搜索其他播放源…",
    "switched_source": "已切换到 {name}",
    "last_episode": "已经是最后一集",
    "volume_level": "音量 {v}%",
    "rate_set": "{r}× 播放",
    "network_retry": "网络错误，正在重试…",
    "media_recover": "解码错误，正在恢复…",
    "load_failed": "加载失败",
    "keyboard_hint": "空格 播放/暂停 · ←/→ 快退/快进 · ↑/↓ 音量 · F 全屏 · Alt+←/→ 换集",
    "manifest_description": "聚合影视搜索与在线播放",
    "ago_just_now": "刚刚",
    "douban_rating": "豆瓣 {r}",
    "episode_label": "集",
    "page_of": "{a}-{b}",
}

EN: dict[str, str] = {
    "skip_to_content": "Skip to content",
    "nav_home": "Home",
    "nav_search": "Search",
    "nav_movie": "Movies",
    "nav_tv": "Series",
    "nav_anime": "Anime",
    "nav_show": "Shows",
    "nav_main": "Main navigation",
    "search_placeholder": "Search movies, series, anime…",
    "user_menu": "User menu",
    "role_owner": "Owner",
    "role_admin": "Admin",
    "role_user": "User",
    "menu_settings": "Settings",
    "menu_admin": "Admin panel",
    "menu_password": "Change password",
    "menu_logout": "Sign out",
    "close": "Close",
    "cancel": "Cancel",
    "save": "Save",
    "confirm": "OK",
    "settings_title": "Settings",
    "settings_appearance": "Appearance",
    "settings_theme": "Theme",
    "theme_system": "System",
    "theme_light": "Light",
    "theme_dark": "Dark",
    "settings_language": "Language",
    "settings_search": "Search",
    "settings_aggregate": "Group results by default",
    "settings_aggregate_hint": "Merge results with the same title, year and type into one card",
    "settings_stream": "Streaming search",
    "settings_stream_hint": "Show each source's results as soon as they arrive",
    "settings_suggest": "Search suggestions",
    "settings_timeout": "Per-source timeout (seconds)",
    "settings_timeout_hint": "Leave empty for the server default",
    "settings_play": "Playback",
    "settings_blockad": "Block ads",
    "settings_blockad_hint": "Filter inserted ads out of playlists on the server",
    "settings_prefer": "Prefer the best source",
    "settings_prefer_hint": "Measure the sources when a title opens and pick the best one",
    "settings_image_proxy": "Douban image proxy",
    "site_default": "Site default",
    "image_proxy_server": "Server proxy",
    "image_proxy_direct": "Direct",
    "image_proxy_img3": "Douban img3",
    "image_proxy_custom": "Custom prefix",
    "settings_reset": "Reset to defaults",
    "settings_saved": "Settings saved",
    "password_title": "Change password",
    "password_new": "New password",
    "password_repeat": "Repeat it",
    "password_mismatch": "The passwords do not match",
    "password_done": "Password changed, please sign in again",
    "login_title": "Sign in",
    "login_welcome": "Welcome back",
    "login_subtitle": "Sign in to continue watching",
    "login_username": "Username",
    "login_password": "Password",
    "login_submit": "Sign in",
    "login_register": "Create an account",
    "login_failed": "Sign-in failed",
    "login_bad_password": "Wrong username or password",
    "network_error": "Network error, please try again",
    "warning_title": "An access password is required",
    "warning_body": (
        "The server has no PASSWORD environment variable. "
        "Every page and API stays locked to protect the site."
    ),
    "warning_detail": (
        "Set USERNAME and PASSWORD and restart, for example: PASSWORD=your-password scripts/serve.sh"
    ),
    "offline_title": "You are offline",
    "offline_body": "The server cannot be reached. Check your connection and try again.",
    "notfound_title": "Page not found",
    "notfound_body": "The page you asked for does not exist or has moved.",
    "back_home": "Back to home",
    "tab_home": "Home",
    "tab_history": "History",
    "tab_favorites": "Favorites",
    "continue_watching": "Continue watching",
    "my_favorites": "My favorites",
    "clear_all": "Clear",
    "clear_confirm_history": "Clear your whole watch history?",
    "clear_confirm_favorites": "Remove all favorites?",
    "clear_confirm_search": "Clear your search history?",
    "view_all": "View all",
    "view_more": "More",
    "empty_history": "Nothing watched yet",
    "empty_favorites": "No favorites yet",
    "empty_hint": "Search for something to watch to get started",
    "welcome_title": "What would you like to watch?",
    "start_search": "Start searching",
    "banned_notice": "Your account is banned; personal data cannot be loaded.",
    "hot_movies": "Trending movies",
    "hot_tv": "Trending series",
    "hot_anime": "New anime",
    "hot_show": "Trending shows",
    "episode_progress": "Ep {i}/{n}",
    "episode_n": "Episode {i}",
    "episodes_count": "{n} eps",
    "remove_record": "Remove from history",
    "add_favorite": "Add to favorites",
    "remove_favorite": "Remove from favorites",
    "favorited": "Favorited",
    "announcement": "Announcement",
    "got_it": "Got it",
    "search_title": "Search",
    "search_go": "Search",
    "search_history": "Recent searches",
    "delete_keyword": "Delete {k}",
    "search_no_sources_admin": (
        "No video sources yet: add a source or a subscription on the admin page, "
        "or run moontv sources add NAME API_URL on the server"
    ),
    "search_no_sources_user": "No video sources are available yet; ask the site owner to add one",
    "search_empty_title": "Search every source",
    "search_empty_hint": "All video sources are searched at once and results are grouped by title",
    "search_sources_done": "{done}/{total} sources answered",
    "search_results_count": "{n} results",
    "search_searching": "Searching…",
    "search_no_results": "No results for “{q}”",
    "search_no_results_hint": "Try another keyword, or check the failed sources",
    "aggregate": "Grouped",
    "aggregate_label": "Group identical titles",
    "failed_sources": "Failed ({n})",
    "failed_sources_title": "These sources returned no results",
    "filter_source": "Source",
    "filter_title": "Title",
    "filter_year": "Year",
    "filter_all": "All",
    "sort_by": "Sort",
    "sort_sources": "Most sources",
    "sort_year": "Year",
    "sort_episodes": "Episodes",
    "order_desc": "Descending",
    "order_asc": "Ascending",
    "order_toggle": "Toggle sort order",
    "more_results": "More results",
    "n_sources": "{n} sources",
    "unknown_year": "Unknown year",
    "suggestions": "Suggestions",
    "reason_filtered": "Results filtered",
    "reason_empty": "No results",
    "reason_timeout": "Timed out",
    "play_loading": "Finding sources…",
    "play_missing_params": "Missing parameters",
    "play_not_found": "No matching title found",
    "play_search_link": "Wrong title? Search for it",
    "play_error": "Playback failed",
    "play_error_hint": "This source may be broken; try switching to another source",
    "play_switch_source": "Switch source",
    "play_retry": "Retry",
    "episodes": "Episodes",
    "sources_tab": "Sources",
    "reverse_order": "Reverse",
    "prev_episode": "Previous episode",
    "next_episode": "Next episode",
    "play": "Play",
    "pause": "Pause",
    "mute": "Mute",
    "unmute": "Unmute",
    "volume": "Volume",
    "seek": "Seek",
    "playback_rate": "Speed",
    "pip": "Picture in picture",
    "fullscreen": "Full screen",
    "exit_fullscreen": "Exit full screen",
    "player_settings": "Player settings",
    "skip_intro_outro": "Skip intro and outro",
    "set_intro": "Intro ends here",
    "set_outro": "Outro starts here",
    "clear_skip": "Delete skip settings",
    "intro_at": "Intro {t}",
    "outro_at": "Outro -{t}",
    "skipped_intro": "Intro skipped",
    "skipped_outro": "Outro skipped",
    "skip_saved": "Skip settings saved",
    "skip_cleared": "Skip settings deleted",
    "resumed_at": "Resumed at {t}",
    "current_source": "Playing",
    "best_source": "Pick the best source",
    "probing": "Measuring…",
    "probe_failed": "Measurement failed",
    "score": "Score {s}",
    "no_other_sources": "No other sources found",
    "sources_searching": "Looking for other sources…",
    "switched_source": "Switched to {name}",
    "last_episode": "This is the last episode",
    "volume_level": "Volume {v}%",
    "rate_set": "{r}× speed",
    "network_retry": "Network error, retrying…",
    "media_recover": "Decoding error, recovering…",
    "load_failed": "Could not load",
    "keyboard_hint": "Space play/pause · ←/→ seek · ↑/↓ volume · F full screen · Alt+←/→ episode",
    "manifest_description": "Search video sources and watch online",
    "ago_just_now": "just now",
    "douban_rating": "Douban {r}",
    "episode_label": "Ep",
    "page_of": "{a}-{b}",
}

CATALOG: dict[str, dict[str, str]] = {"zh-CN": ZH, "en": EN}
