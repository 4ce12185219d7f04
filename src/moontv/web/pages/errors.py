"""The HTML 404 page (browsers asking for a page that does not exist)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from moontv.web.i18n import strings
from moontv.web.rendering import render


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not an API or static path): answer 404 with the HTML page."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


async def not_found(request: Request) -> Response:
    t = strings(request)
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
