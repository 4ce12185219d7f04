"""How errors reach the client, declared once: the exception handlers registered on the app.

- ``ServiceError`` (and its family: admin, auth, subscription, upstream errors): ``{"error": message,
  **extra}`` with its status and headers;
- a stale config version: 409 with MoonTV's message and the current version;
- an upstream CMS failure: 502 with its user-facing message; a destination the SSRF guard refused: 403;
- request validation (query/body models): 400 with the message the parameter declares, else MoonTV's
  generic "参数格式错误";
- a page that cannot be shown: its redirect; unknown paths: the HTML 404 page for browsers, JSON otherwise;
- a client that hung up mid-body: 400, logged at debug level;
- anything else: 500 "服务器错误", logged with its traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from moontv.errors import RefusedDestination, ServiceError
from moontv.sources.models import SourceError
from moontv.storage.protocol import VersionConflict
from moontv.web.deps import PageRedirect
from moontv.web.responses import json_response

log = logging.getLogger("moontv")

CONFLICT = "配置已被其他管理员修改，请刷新后重试"
BAD_PARAMETERS = "参数格式错误"
BLOCKED = "不允许访问该地址"


def error_response(exc: ServiceError) -> Response:
    return json_response({"error": exc.message, **exc.extra}, exc.status, headers=exc.headers)


def validation_message(exc: RequestValidationError) -> str:
    """The first failing parameter's declared message (``ValueError`` text of a validator), if any."""
    for error in exc.errors():
        context = error.get("ctx") or {}
        cause = context.get("error")
        if isinstance(cause, ValueError) and str(cause):
            return str(cause)
    return BAD_PARAMETERS


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        return error_response(exc)

    @app.exception_handler(VersionConflict)
    async def version_conflict(request: Request, exc: VersionConflict) -> Response:
        return json_response({"error": CONFLICT, "version": exc.actual if exc.actual >= 0 else None}, 409)

    @app.exception_handler(SourceError)
    async def source_error(request: Request, exc: SourceError) -> Response:
        return json_response({"error": exc.user_message}, 502)

    @app.exception_handler(RefusedDestination)
    async def blocked_url(request: Request, exc: RefusedDestination) -> Response:
        return json_response({"error": BLOCKED, "reason": exc.reason}, 403)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return json_response({"error": validation_message(exc)}, 400)

    @app.exception_handler(PageRedirect)
    async def page_redirect(request: Request, exc: PageRedirect) -> Response:
        return exc.response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            from moontv.web.pages.errors import not_found, wants_html

            if wants_html(request):
                return await not_found(request)
        messages = {404: "Not Found", 405: "Method Not Allowed"}
        return json_response(
            {"error": messages.get(exc.status_code, str(exc.detail))},
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client hung up mid-body: nobody is left to answer, and it is not a server fault.
        log.debug("client disconnected during %s %s", request.method, request.url.path)
        return json_response({"error": "客户端已断开"}, 400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response({"error": "服务器错误"}, 500)
