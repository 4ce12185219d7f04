"""PWA files and small root files: manifest, service workers, robots.txt, favicon."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from moontv.web.deps import State
from moontv.web.i18n import request_lang, strings
from moontv.web.rendering import SHELL_ASSETS, STATIC_DIR, asset, asset_version, shell_version

router = APIRouter()


@router.get("/manifest.json")
async def manifest(request: Request, state: State) -> Response:
    snapshot = await state.config.get()
    name = snapshot.config.get("SiteConfig", {}).get("SiteName") or state.settings.site_name
    t = strings(request)
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


@router.get("/download-stream/sw.js")
async def save_worker() -> Response:
    """The browser downloads' save worker. Served from the folder it controls, so its scope needs no
    Service-Worker-Allowed header and covers /download-stream/ only."""
    return Response(
        (STATIC_DIR / "play" / "save-sw.js").read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/robots.txt")
async def robots() -> Response:
    return PlainTextResponse("User-agent: *\nDisallow: /\n")


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(STATIC_DIR / "icons" / "icon-192.png", media_type="image/png")
