"""Item 5 (scheduler): the refresh looks up each user's entries only on the sources that user may use."""

from __future__ import annotations

from typing import Any

import pytest

from tests.abuse.test_search import add_user
from tests.fakes.fake_cms import make_item


@pytest.fixture(params=["sqlite"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_refresh_uses_only_the_users_allowed_sources(live_app: Any, fake_cms_factory: Any) -> None:
    """Base code: every enabled source was asked for every user's entries, allowed or not."""
    allowed = fake_cms_factory([make_item(4, "长夜行歌", episodes=3, type_name="国产剧")])
    other = fake_cms_factory([make_item(5, "别的剧", episodes=7, type_name="国产剧")])
    server = live_app(
        {"a": f"{allowed.url}/api.php/provide/vod", "b": f"{other.url}/api.php/provide/vod"},
        refresh_interval=0,
    )
    owner = server.login()
    add_user(owner, "dave")

    def restrict(config: dict[str, Any]) -> None:
        user = next(u for u in config["UserConfig"]["Users"] if u["username"] == "dave")
        user["enabledApis"] = ["a"]

    server.call(server.state.config.update(restrict))
    dave = server.login("dave", "pw-123")
    record = {"title": "x", "source_name": "s", "index": 1, "total_episodes": 1, "play_time": 1,
              "total_time": 10, "save_time": 1700000000000}  # fmt: skip
    for key, title in (("a+4", "长夜行歌"), ("b+5", "别的剧")):
        response = dave.post("/api/playrecords", json={"key": key, "record": {**record, "title": title}})
        assert response.status_code == 200
    allowed.reset()
    other.reset()
    summary = owner.post("/api/cron?wait=1").json()["summary"]
    print(f"ABUSE refresh of a user allowed one of two sources: {summary}")
    assert summary["checked"] == 1 and summary["skipped"] == 1
    assert len(allowed.requests) >= 1
    assert other.requests == []
    records = dave.get("/api/playrecords").json()
    assert records["a+4"]["total_episodes"] == 3 and records["b+5"]["total_episodes"] == 1
