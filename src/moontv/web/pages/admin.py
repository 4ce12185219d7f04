"""The ``/admin`` page (its data comes from ``/api/admin/*``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.web.deps import PageUser, State
from moontv.web.rendering import render

router = APIRouter()


@router.get("/admin")
async def admin_page(request: Request, state: State, user: PageUser) -> Response:
    if not user.is_admin:
        return await render(
            request, "message.html", 403, heading="权限不足", message="只有站长和管理员可以访问管理面板。"
        )
    view = await state.config.view()
    return await render(
        request,
        "admin.html",
        nav="admin",
        username=user.username,
        role=user.role,
        no_sources=not view.sources,
    )
