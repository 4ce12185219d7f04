"""Server-rendered pages: templates, static asset URLs, security headers and the page guard.

Pages are Jinja templates rendered with a strict Content-Security-Policy (no inline scripts or styles); each
page's data for its script travels in a ``<script type="application/json" id="boot">`` block, which the
browser never executes. Every string from upstream sources is escaped by Jinja here and inserted with
``textContent`` by the scripts.

Routers render pages through ``render(request, "x.html", **context)`` (templates extending ``base.html``):
the navigation, theme, language and boot data then come for free.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import Response

from moontv import __version__
from moontv.auth.service import Principal
from moontv.web.changelog import releases
from moontv.web.deps import optional_user
from moontv.web.i18n import catalog, request_lang
from moontv.web.state import AppState

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https: http:; "
    "media-src 'self' blob: https: http:; connect-src 'self' https: http:; worker-src 'self' blob:; "
    "manifest-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
THEMES = ("system", "light", "dark")
SHELL_ASSETS = (
    "app.css",
    "app.js",
    "home.js",
    "search.js",
    "search-sources.js",
    "play/main.js",
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


def _theme(request: Request) -> str:
    value = request.cookies.get("theme", "")
    return value if value in THEMES else "system"


def _base_context(request: Request) -> dict[str, Any]:
    """Context every template gets, whoever renders it."""
    state = getattr(request.app.state, "moontv", None)
    lang = request_lang(request)
    principal = request.scope.get("moontv.principal") or None
    site_name = request.scope.get("moontv.site_name") or (state.settings.site_name if state else "MoonTV")
    boot: dict[str, Any] = {
        "lang": lang,
        "siteName": site_name,
        "version": __version__,
        "user": _user_json(principal),
        "i18n": catalog(lang),
        "imageProxy": request.scope.get("moontv.image_proxy") or {"type": "server", "url": ""},
        "page": request.scope.get("moontv.page_boot") or {},
        "icons": asset("icons.svg"),
    }
    return {
        "t": catalog(lang),
        "lang": lang,
        "theme": _theme(request),
        "asset": asset,
        "site_name": site_name,
        "nav_user": principal,
        "nav_active": request.scope.get("moontv.nav", ""),
        "has_custom_categories": bool(request.scope.get("moontv.has_custom")),
        "boot": boot,
        "version": __version__,
        "releases": releases(lang),
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
    state: AppState = request.app.state.moontv
    if "moontv.principal" not in request.scope:
        await optional_user(request, state)
    view = await state.config.view()
    site = view.site
    request.scope["moontv.site_name"] = site.site_name or state.settings.site_name
    request.scope["moontv.image_proxy"] = {
        "type": site.douban_image_proxy_type or "server",
        "url": site.douban_image_proxy,
    }
    request.scope["moontv.page_boot"] = boot or {}
    request.scope["moontv.has_custom"] = bool(view.enabled_categories())
    request.scope["moontv.nav"] = nav
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return security_headers(response)
