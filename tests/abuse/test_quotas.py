"""Item 5: per-user quotas on stored lists (clear 409 at the cap) and paginated pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.abuse.harness import HEALTH_LIMIT_SECONDS, HealthWatch, ServerProcess, report

BIG_TITLE = "长" * 200


def record(n: int) -> dict[str, object]:
    return {
        "title": f"{BIG_TITLE}{n}",
        "source_name": "源",
        "cover": f"https://img.example.com/{n}.jpg",
        "year": "2024",
        "index": 1,
        "total_episodes": 40,
        "play_time": 10,
        "total_time": 100,
        "save_time": 1_700_000_000_000 + n,
        "search_title": BIG_TITLE,
    }


@pytest.mark.parametrize(
    ("path", "field", "env"),
    [
        ("/api/playrecords", "record", "MOONTV_MAX_PLAY_RECORDS"),
        ("/api/favorites", "favorite", "MOONTV_MAX_FAVORITES"),
    ],
)
def test_list_quota_refuses_new_entries_but_updates_existing(
    server_factory: Callable[..., ServerProcess], path: str, field: str, env: str
) -> None:
    """Base code: 3,000 maximum-size play records were all accepted (58 MB in 4.6 s)."""
    server = server_factory(**{env: "5"})
    client = server.login()
    for n in range(5):
        assert client.post(path, json={"key": f"s+{n}", field: record(n)}).status_code == 200
    refused = client.post(path, json={"key": "s+99", field: record(99)})
    assert refused.status_code == 409, refused.text
    assert refused.json()["limit"] == 5
    assert client.post(path, json={"key": "s+0", field: record(1000)}).status_code == 200  # update is fine
    assert len(client.get(path).json()) == 5


def test_skip_config_quota(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(MOONTV_MAX_SKIP_CONFIGS="2")
    client = server.login()
    config = {"enable": True, "intro_time": 60, "outro_time": 0}
    for n in range(2):
        assert client.post("/api/skipconfigs", json={"key": f"s+{n}", "config": config}).status_code == 200
    assert client.post("/api/skipconfigs", json={"key": "s+9", "config": config}).status_code == 409


def test_home_page_paginates_long_histories(server_factory: Callable[..., ServerProcess]) -> None:
    """Base code: 3,000 records made the home page 231 MB of HTML."""
    server = server_factory()
    client = server.login()
    for n in range(130):
        assert client.post("/api/playrecords", json={"key": f"s+{n}", "record": record(n)}).status_code == 200
    with HealthWatch(server.url) as watch:
        home = client.get("/")
        history = client.get("/", params={"tab": "history", "page": "3"})
    report(f"home page with 130 records: {len(home.content)} bytes", watch, server)
    assert home.status_code == 200 and history.status_code == 200
    # home: a shelf of the newest 20 and the first grid page (newest 60), never all 130
    assert len(set(re.findall(rf"{BIG_TITLE}(\d+)", home.text))) == 60
    assert "1 / 3" in home.text
    # page 3 of the history tab holds the oldest 10 records
    assert "3 / 3" in history.text
    titles = set(re.findall(rf"{BIG_TITLE}(\d+)", history.text))
    assert {"0", "9", "129"} <= titles  # the oldest on page 3, the newest on the (hidden) home shelf
    assert "60" not in titles
    assert watch.worst < HEALTH_LIMIT_SECONDS
