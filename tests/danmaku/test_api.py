"""The danmaku API over HTTP: our server asks the danmu_api server; remembered picks per user and title."""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes.danmu_fake import FakeDanmuApi
from tests.support import LiveServer


def test_match_comments_and_choices(live_app: Callable[..., LiveServer], danmu_fake: FakeDanmuApi) -> None:
    server = live_app(danmu_api_base_url=danmu_fake.url, allow_private_upstreams="127.0.0.1/32")
    owner = server.login()
    owner.post(
        "/api/admin/user", json={"action": "add", "targetUsername": "bob", "targetPassword": "pw-bob-1"}
    )
    bob = server.login("bob", "pw-bob-1")

    assert owner.get("/api/danmaku/config").json() == {"enabled": True}
    match = owner.get(
        "/api/danmaku/match", params={"title": "星际迷航 第二季", "episode_title": "第3集", "index": 2}
    )
    assert (
        match.json()["match"]["episodeId"] == 2003 and match.json()["fileName"] == "星际迷航 S2E03 @bilibili1"
    )
    track = owner.get("/api/danmaku/comments/2003")
    assert track.status_code == 200 and track.json()["count"] == 40
    assert track.headers["cache-control"].startswith("private")
    animes = owner.get("/api/danmaku/search", params={"anime": "星际"}).json()["animes"]
    assert [a["animeTitle"] for a in animes] == ["星际迷航", "星际迷航 第二季", "星际迷航 特别篇"]

    choice = {"animeId": 2, "animeTitle": "星际迷航 第二季", "keyword": "星际", "offset": 1}
    saved = owner.post("/api/danmaku/choice", json={"key": "alpha+101", "choice": choice})
    assert saved.status_code == 200
    assert owner.get("/api/danmaku/choice", params={"key": "alpha+101"}).json() == {"choice": choice}
    assert bob.get("/api/danmaku/choice", params={"key": "alpha+101"}).json() == {"choice": None}
    assert owner.delete("/api/danmaku/choice", params={"key": "alpha+101"}).status_code == 200
    assert owner.get("/api/danmaku/choice", params={"key": "alpha+101"}).json() == {"choice": None}

    # the browser never learns the danmu server's address, and bad input is a clear 4xx
    assert danmu_fake.url not in match.text + track.text
    assert owner.get("/api/danmaku/comments/abc").status_code == 400
    assert owner.get("/api/danmaku/match", params={"title": ""}).status_code == 400
    assert owner.post("/api/danmaku/choice", json={"key": "nokey", "choice": choice}).status_code == 400
    assert (
        owner.post("/api/danmaku/choice", json={"key": "a+1", "choice": {"animeId": "x"}}).status_code == 400
    )
    assert server.client().get("/api/danmaku/comments/2003").status_code == 401
    danmu_fake.fault = "500"
    broken = owner.get("/api/danmaku/comments/2004")
    assert broken.status_code == 502 and broken.json()["error"]


def test_without_a_danmu_server(live_app: Callable[..., LiveServer]) -> None:
    client = live_app().login()
    assert client.get("/api/danmaku/config").json() == {"enabled": False}
    assert client.get("/api/danmaku/comments/1").status_code == 404
