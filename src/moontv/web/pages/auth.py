"""Pages shown before sign-in: login, the no-PASSWORD warning, offline."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from moontv.web.deps import State, request_token
from moontv.web.i18n import strings
from moontv.web.redirects import safe_redirect
from moontv.web.rendering import render

router = APIRouter()


@router.get("/login")
async def login_page(request: Request, state: State) -> Response:
    if not state.settings.password:
        return RedirectResponse("/warning", 307)
    snapshot = await state.config.get()
    allow_register = bool(snapshot.config["UserConfig"].get("AllowRegister"))
    # Raw on purpose: a page's query only seeds its script; bad values fall back, never a 400.
    boot = {"allowRegister": allow_register, "redirect": safe_redirect(request.query_params.get("redirect"))}
    banned = await state.auth.banned_by_token(request_token(request))
    return await render(request, "login.html", boot=boot, allow_register=allow_register, banned=banned)


@router.get("/warning")
async def warning_page(request: Request, state: State) -> Response:
    if state.settings.password:
        return RedirectResponse("/", 307)  # nothing to warn about
    t = strings(request)
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
    t = strings(request)
    return await render(
        request,
        "message.html",
        heading=t["offline_title"],
        message=t["offline_body"],
        symbol="alert",
        link="/",
        retry=True,
    )
