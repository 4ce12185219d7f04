"""Only admins do admin work: every ``/api/admin/*`` route, for every method it answers, refuses an
anonymous caller (401) and a plain signed-in user (403). Found by walking the routes."""

from __future__ import annotations

from typing import Any

from tests.security.routewalk import routes


async def test_every_admin_route_refuses_anonymous_and_plain_users(inprocess_app: Any) -> None:
    app = await inprocess_app(None, refresh_interval=0)
    await app.add_user("carol")
    anonymous, carol = await app.client(), await app.client(as_user="carol")
    walked = set()
    for route in routes(app):
        if not route.path.startswith("/api/admin/"):
            continue
        walked.add((route.method, route.path))
        for caller, expected in ((anonymous, 401), (carol, 403)):
            # a body a plain user could send to get work done (the subscription check needs no more)
            body = {"action": "check"} if route.method == "POST" else None
            answer = await caller.request(route.method, route.url(), json=body)
            assert answer.status_code == expected, (route, expected, answer.text)
    assert ("POST", "/api/admin/subscription") in walked and ("POST", "/api/admin/tvbox") in walked
    assert len(walked) >= 15
