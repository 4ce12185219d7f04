"""The danmaku API (the app in process): our server asks the danmu_api server; remembered picks per
user and title."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.fakes.danmu_fake import FakeDanmuApi
from tests.inprocess import InProcessApp


async def test_match_comments_and_choices(
    inprocess_app: Callable[..., Awaitable[InProcessApp]], danmu_fake: FakeDanmuApi
) -> None:
    app = await inprocess_app(danmu_api_base_url=danmu_fake.url, allow_private_upstreams="127.0.0.1/32")
    owner = await app.login()
    await owner.post(
        "/api/admin/user", json={"action": "add", "targetUsername": "bob", "targetPassword": "pw-bob-1"}
    )
    bob = await app.login("bob", "pw-bob-1")

    assert (await owner.get("/api/danmaku/config")).json() == {"enabled": True}
    match = await owner.get(
        "/api/danmaku/match", params={"title": "星际迷航 第二季", "episode_title": "第3集", "index": 2}
    )
    assert (
        match.json()["match"]["episodeId"] == 2003 and match.json()["fileName"] == "星际迷航 S2E03 @bilibili1"
    )
    track = await owner.get("/api/danmaku/comments/2003")
    assert track.status_code == 200 and track.json()["count"] == 40
    assert track.headers["cache-control"].startswith("private")
    animes = (await owner.get("/api/danmaku/search", params={"anime": "星际"})).json()["animes"]
    assert [a["animeTitle"] for a in animes] == ["星际迷航", "星际迷航 第二季", "星际迷航 特别篇"]

    choice = {"animeId": 2, "animeTitle": "星际迷航 第二季", "keyword": "星际", "offset": 1}
    saved = await owner.post("/api/danmaku/choice", json={"key": "alpha+101", "choice": choice})
    assert saved.status_code == 200
    assert (await owner.get("/api/danmaku/choice", params={"key": "alpha+101"})).json() == {"choice": choice}
    assert (await bob.get("/api/danmaku/choice", params={"key": "alpha+101"})).json() == {"choice": None}
    assert (await owner.delete("/api/danmaku/choice", params={"key": "alpha+101"})).status_code == 200
    assert (await owner.get("/api/danmaku/choice", params={"key": "alpha+101"})).json() == {"choice": None}

    # the browser never learns the danmu server's address, and bad input is a clear 4xx
    assert danmu_fake.url not in match.text + track.text
    assert (await owner.get("/api/danmaku/comments/abc")).status_code == 400
    assert (await owner.get("/api/danmaku/match", params={"title": ""})).status_code == 400
    assert (
        await owner.post("/api/danmaku/choice", json={"key": "nokey", "choice": choice})
    ).status_code == 400
    assert (
        await owner.post("/api/danmaku/choice", json={"key": "a+1", "choice": {"animeId": "x"}})
    ).status_code == 400
    anonymous = await app.client()
    assert (await anonymous.get("/api/danmaku/comments/2003")).status_code == 401
    danmu_fake.fault = "500"
    broken = await owner.get("/api/danmaku/comments/2004")
    assert broken.status_code == 502 and broken.json()["error"]


async def test_without_a_danmu_server(inprocess_app: Callable[..., Awaitable[InProcessApp]]) -> None:
    client = await (await inprocess_app()).login()
    assert (await client.get("/api/danmaku/config")).json() == {"enabled": False}
    assert (await client.get("/api/danmaku/comments/1")).status_code == 404
