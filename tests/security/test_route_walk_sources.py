"""Per-user source allow-lists hold on every route that takes a source, found by walking the routes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.routewalk import DEAD_API, enable_tvbox, plausible, routes, signed_link

ADMIN_ONLY = {"/api/proxy/m3u8/debug"}  # walked as an admin restricted the same way
SIGNED_RELAYS = {"/api/proxy/segment": "segment", "/api/proxy/key": "key"}
SOURCE_PARAMS = ("source", "resourceId")
# the caller's own data, keyed "source+id": reading it asks no source for anything
OWN_DATA = {"/api/skipconfigs"}
# live TV sources are another list with their own allow-list (tests/live cover it)
LIVE = ("/api/live", "/api/proxy/live", "/api/admin/live", "/api/tvbox/s/{token}/live/")
EXPECTED = {
    "/api/detail",
    "/api/search/one",
    "/api/sources/probe",
    "/api/proxy/m3u8",
    "/api/proxy/segment",
    "/api/proxy/key",
    "/api/tvbox/s/{token}/cms/{filters}/{key}",
    "/api/tvbox/s/{token}/m3u8/{key}",
}


@pytest.fixture
async def site(inprocess_app: Any) -> Any:
    app = await inprocess_app({"allowed": DEAD_API, "secret": DEAD_API}, refresh_interval=0)
    await app.add_user("alice", enabledApis=["allowed"])
    await app.add_user("ada", role="admin", enabledApis=["allowed"])
    return app


async def test_a_restricted_user_gets_404_from_every_route_taking_a_source(site: Any) -> None:
    token = await enable_tvbox(site, "alice")
    callers = {"alice": await site.client(as_user="alice"), "ada": await site.client(as_user="ada")}
    walked = set()
    for route in routes(site):
        name = next((n for n in SOURCE_PARAMS if n in route.query), None)
        if (name is None and "{key}" not in route.path) or route.path in OWN_DATA:
            continue
        if route.path.startswith(LIVE):
            continue
        walked.add(route.path)
        user = "ada" if route.path in ADMIN_ONLY else "alice"
        for source, refused in (("secret", True), ("allowed", False)):
            params = plausible(route)
            if name is not None:
                params[name] = source
            if route.path in SIGNED_RELAYS:
                params = signed_link(site, SIGNED_RELAYS[route.path], source, user)
            answer = await callers[user].request(
                route.method, route.url(token=token, key=source), params=params
            )
            if refused:
                # a signed link names its source: one the caller may not use makes it unusable (403)
                expected = 403 if route.path in SIGNED_RELAYS else 404
                assert answer.status_code == expected, (route, answer.text)
            else:
                assert answer.status_code not in (403, 404), (route, answer.text)
    assert walked >= EXPECTED, EXPECTED - walked


async def test_suggestions_ask_only_the_users_sources(site: Any) -> None:
    asked: list[str] = []
    search = site.state.search
    collect = search.collect

    async def recording(sites: Any, *args: Any, **kwargs: Any) -> Any:
        asked.extend(s.key for s in sites)
        return await collect(sites, *args, **kwargs)

    search.collect = recording
    alice = await site.client(as_user="alice")
    answer = await alice.get("/api/search/suggestions", params={"q": "测试"})
    assert answer.status_code == 200 and asked == ["allowed"]


async def test_an_emptied_allow_list_allows_nothing(site: Any) -> None:
    owner = await site.client(as_user="admin")
    added = await owner.post(
        "/api/admin/source", json={"action": "add", "key": "mine", "name": "mine", "api": DEAD_API}
    )
    assert added.status_code == 200, added.text
    await site.add_user("bob", enabledApis=["mine"])
    bob = await site.client(as_user="bob")
    assert [s["key"] for s in (await bob.get("/api/search/resources")).json()] == ["mine"]
    deleted = await owner.post("/api/admin/source", json={"action": "delete", "key": "mine"})
    assert deleted.status_code == 200, deleted.text
    assert (await bob.get("/api/search/resources")).json() == []  # not every source
    assert (await bob.get("/api/detail", params={"source": "secret", "id": "1"})).status_code == 404


async def test_a_banned_users_tvbox_token_authorises_nothing(site: Any) -> None:
    token = await enable_tvbox(site, "alice")
    anonymous = await site.client()
    params = {"token": token, "kind": "movie"}
    owner = await site.client(as_user="admin")
    banned = await owner.post("/api/admin/user", json={"action": "ban", "targetUsername": "alice"})
    assert banned.status_code == 200, banned.text
    assert (await anonymous.get("/api/douban/recommends", params=params)).status_code == 403
    assert (await anonymous.get("/api/tvbox/config", params={"token": token})).status_code == 403
