"""Server-rendered pages of the core server: login, warning, a minimal home."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from moontv.web.deps import OptionalUser, State

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter()
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
    "media-src 'self' blob: https: http:; connect-src 'self' https: http:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


def _page(request: Request, name: str, status: int = 200, **context: object) -> Response:
    state = request.app.state.moontv
    response = TEMPLATES.TemplateResponse(
        request, name, {"site_name": state.settings.site_name, **context}, status_code=status
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/login")
async def login_page(request: Request, state: State) -> Response:
    snapshot = await state.config.get()
    return _page(
        request, "login.html", allow_register=bool(snapshot.config["UserConfig"].get("AllowRegister"))
    )


@router.get("/warning")
async def warning_page(request: Request) -> Response:
    return _page(
        request,
        "message.html",
        heading="需要配置访问密码",
        message="服务器未设置 PASSWORD 环境变量。为保护您的站点，请设置 USERNAME 与 PASSWORD 后重启服务。",
    )


@router.get("/")
async def home(request: Request, state: State, user: OptionalUser) -> Response:
    if not state.settings.password:
        return RedirectResponse("/warning", 307)
    if user is None:
        return RedirectResponse("/login?redirect=" + quote(str(request.url.path)), 307)
    return _page(
        request,
        "message.html",
        heading=state.settings.site_name,
        message=f"已登录：{user.username}",
        link="/api/search/resources",
        link_text="可用视频源",
    )
