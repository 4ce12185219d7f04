"""A backup's records pass the same models as the API: one bad record refuses the whole file (400, nothing
written), and what an import stores is what the API would have stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from moontv.admin.backup import encrypt_backup
from tests.admin.test_backup import everything, import_file, seed

GOOD_RECORD = {"title": "长夜", "source_name": "源A", "index": 2, "save_time": 1_700_000_000_000}
GOOD_FAVORITE = {"title": "长夜", "source_name": "源A", "save_time": 1_700_000_000_000}
NO_INDEX = {k: v for k, v in GOOD_RECORD.items() if k != "index"}


def backup(users: dict[str, Any]) -> bytes:
    document = {"format": "moontv-backup", "data": {"adminConfig": None, "users": users}}
    return encrypt_backup(json.dumps(document).encode(), "pw")


def user(**data: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"password": None, "playRecords": {"a+1": GOOD_RECORD}, "favorites": {}}
    return base | data


@pytest.mark.parametrize(
    ("bad_user", "where"),
    [
        (user(playRecords={"a+1": GOOD_RECORD, "b+2": GOOD_RECORD | {"index": 0}}), "playRecords[b+2].index"),
        (user(playRecords={"b+2": {**GOOD_RECORD, "title": ""}}), "playRecords[b+2].title"),
        (user(playRecords={"b+2": {**GOOD_RECORD, "play_time": "1e400"}}), "playRecords[b+2].play_time"),
        (user(playRecords={"b+2": GOOD_RECORD | {"total_time": 2**64}}), "playRecords[b+2].total_time"),
        (user(playRecords={"b+2": NO_INDEX}), "playRecords[b+2].index"),
        (user(favorites={"b+2": {**GOOD_FAVORITE, "source_name": ["x"]}}), "favorites[b+2].source_name"),
        (user(favorites={"b2": GOOD_FAVORITE}), "favorites 的键 b2"),
        (user(skipConfigs={"b+2": "on"}), "skipConfigs[b+2]"),
        (user(lastOnline="yesterday"), "lastOnline"),
    ],
)  # fmt: skip
async def test_a_bad_record_refuses_the_whole_file(
    inprocess_app, bad_user: dict[str, Any], where: str
) -> None:
    app = await inprocess_app(None, refresh_interval=0)
    owner = await app.login()
    await seed(app, owner)
    before = await everything(app)
    blob = backup({"dave": user(), "carol": bad_user})
    response = await import_file(owner, blob, "pw")
    assert response.status_code == 400
    assert response.json() == {"error": f"备份文件格式无效: carol.{where}"}
    assert await everything(app) == before


async def test_imported_records_are_stored_as_the_api_stores_them(inprocess_app) -> None:
    app = await inprocess_app(None, refresh_interval=0)
    owner = await app.login()
    loose_record = {
        "title": " 长夜 ",
        "source_name": "源A",
        "index": "3",
        "play_time": 12.9,
        "legacy": {"x": 1},
    }
    loose_favorite = {"title": "长夜", "source_name": "源A", "year": 2024, "origin": "live", "cover": None}
    data = {
        "owner-ish": user(
            playRecords={"a+1": loose_record},
            favorites={"a+1": loose_favorite},
            skipConfigs={"a+1": {"enable": 1, "intro_time": "90", "outro_time": "x"}},
        )
    }
    assert (await import_file(owner, backup(data), "pw")).status_code == 200
    storage = app.state.storage
    record = await storage.get_play_record("owner-ish", "a+1")
    assert record == {
        "title": "长夜",
        "source_name": "源A",
        "cover": "",
        "year": "",
        "index": 3,
        "total_episodes": 0,
        "play_time": 12,
        "total_time": 0,
        "save_time": record["save_time"],
        "search_title": "",
    }
    assert record["save_time"] > 1_700_000_000_000  # missing: the import time, as the API does
    favorite = await storage.get_favorite("owner-ish", "a+1")
    assert (favorite["year"], favorite["cover"], favorite["origin"]) == ("2024", "", "live")
    skip = await storage.get_skip_config("owner-ish", "a+1")
    assert skip == {"enable": True, "intro_time": 90, "outro_time": 0}
