"""The user-data models against hostile values: as properties of the models, and over HTTP on both backends
(nothing invalid is stored, nothing unbounded is stored, the answers keep MoonTV's messages)."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from moontv.userdata.models import (
    MAX_COVER,
    MAX_SAFE_INTEGER,
    MAX_TEXT,
    MAX_YEAR,
    Favorite,
    PlayRecord,
    SkipConfig,
)

RECORD = {
    "title": "长夜",
    "source_name": "源A",
    "index": 2,
    "total_episodes": 24,
    "save_time": 1_700_000_000_000,
}
FAVORITE = {"title": "长夜", "source_name": "源A", "total_episodes": 24, "save_time": 1_700_000_000_000}
LIMITS = {
    "title": MAX_TEXT,
    "source_name": MAX_TEXT,
    "search_title": MAX_TEXT,
    "cover": MAX_COVER,
    "year": MAX_YEAR,
}

# What a JSON body can carry, biased towards the edges: huge and negative numbers, numeric strings,
# NaN/infinity spelled as strings, long strings, nested containers.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "NaN", "nan", "Infinity", "-inf", "1e400", "12", " 7 ", "3.9", "-1", "0x10"]),
    st.text(max_size=50),
    st.text(min_size=MAX_COVER, max_size=MAX_COVER + 50),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
)


def _check_stored(stored: dict[str, Any]) -> None:
    encoded = orjson.dumps(stored)  # raises on ints past 64 bits or non-JSON values
    assert orjson.loads(encoded) == stored
    for name, value in stored.items():
        if name in LIMITS:
            assert isinstance(value, str) and len(value) <= LIMITS[name]
        elif name in ("index", "total_episodes", "play_time", "total_time", "save_time"):
            assert isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_INTEGER


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from([*sorted(PlayRecord.model_fields), "extra"]), value=json_values)
def test_play_record_takes_a_bounded_record_or_refuses(field: str, value: Any) -> None:
    try:
        record = PlayRecord.model_validate({**RECORD, field: value})
    except ValidationError:
        return
    stored = record.stored()
    assert list(stored) == list(PlayRecord.model_fields)  # the wire order, extra fields dropped
    assert stored["title"] and stored["source_name"] and stored["index"] >= 1
    _check_stored(stored)


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from([*sorted(Favorite.model_fields), "extra"]), value=json_values)
def test_favorite_takes_a_bounded_record_or_refuses(field: str, value: Any) -> None:
    try:
        favorite = Favorite.model_validate({**FAVORITE, field: value})
    except ValidationError:
        return
    stored = favorite.stored()
    assert set(stored) <= set(Favorite.model_fields)
    assert stored.get("origin", "vod") in ("vod", "live")
    _check_stored(stored)


@settings(max_examples=200, deadline=None)
@given(enable=json_values, intro=json_values, outro=json_values)
def test_skip_config_is_javascripts_number_or_zero_and_never_refuses(
    enable: Any, intro: Any, outro: Any
) -> None:
    config = SkipConfig.model_validate({"enable": enable, "intro_time": intro, "outro_time": outro}).stored()
    assert list(config) == ["enable", "intro_time", "outro_time"]
    assert isinstance(config["enable"], bool)
    for name in ("intro_time", "outro_time"):
        number = config[name]
        assert isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number)
    orjson.dumps(config)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), (" 7 ", 7), ("3.9", 3.9), ("NaN", 0), ("Infinity", 0), ("abc", 0), (None, 0), ("", 0),
     (True, 1.0), ([1], 0), (1e300, 1e300), (-60, -60)],
)  # fmt: skip
def test_skip_config_coercion(value: Any, expected: float) -> None:
    assert SkipConfig.model_validate({"intro_time": value}).intro_time == expected


# -- over HTTP, both backends ------------------------------------------------------------------------------

HOSTILE_RECORDS = [
    {"index": "NaN"},
    {"index": "Infinity"},
    {"index": "1e400"},
    {"index": 10**30},
    {"index": -(10**30)},
    {"play_time": 2**63},
    {"save_time": "1e300"},
    {"total_episodes": [1]},
    {"index": True},
    {"title": ["x"]},
    {"title": False},
    {"title": " \t "},
    {"source_name": {"a": 1}},
    {"cover": {"x": "y"}},
    {"year": []},
]


async def test_hostile_records_are_refused_and_nothing_is_stored(inprocess_app: Any) -> None:
    app = await inprocess_app()
    client = await app.client(as_user="admin")
    for change in HOSTILE_RECORDS:
        response = await client.post("/api/playrecords", json={"key": "a+1", "record": {**RECORD, **change}})
        assert (response.status_code, response.json()) == (400, {"error": "Invalid record data"}), change
        response = await client.post(
            "/api/favorites", json={"key": "a+1", "favorite": {**FAVORITE, **change}}
        )
        if set(change) <= set(Favorite.model_fields):  # (a favorite has no episode or progress)
            assert (response.status_code, response.json()) == (400, {"error": "Invalid favorite data"}), (
                change
            )
    assert (await client.get("/api/playrecords")).json() == {}
    favorites = (await client.get("/api/favorites")).json()
    assert all(
        entry == {**FAVORITE, "cover": "", "year": "", "search_title": ""} for entry in favorites.values()
    )


async def test_long_text_is_cut_and_extra_fields_are_dropped(inprocess_app: Any) -> None:
    app = await inprocess_app()
    client = await app.client(as_user="admin")
    record = {**RECORD, "title": "长" * 5000, "cover": "c" * 9000, "year": "2" * 99, "__proto__": {"x": 1}}
    assert (await client.post("/api/playrecords", json={"key": "a+1", "record": record})).status_code == 200
    stored = (await client.get("/api/playrecords")).json()["a+1"]
    assert list(stored) == list(PlayRecord.model_fields)
    assert (len(stored["title"]), len(stored["cover"]), len(stored["year"])) == (
        MAX_TEXT,
        MAX_COVER,
        MAX_YEAR,
    )
    favorite = {**FAVORITE, "origin": "live", "rogue": "x" * 10}
    assert (await client.post("/api/favorites", json={"key": "l+1", "favorite": favorite})).status_code == 200
    assert (await client.get("/api/favorites", params={"key": "l+1"})).json() == {
        **FAVORITE,
        "year": "",
        "cover": "",
        "search_title": "",
        "origin": "live",
    }


async def test_skip_config_bodies(inprocess_app: Any) -> None:
    app = await inprocess_app()
    client = await app.client(as_user="admin")
    hostile = {"enable": "yes", "intro_time": "NaN", "outro_time": 1e300, "extra": [1]}
    assert (await client.post("/api/skipconfigs", json={"key": "a+1", "config": hostile})).json() == {
        "success": True
    }
    stored = (await client.get("/api/skipconfigs", params={"source": "a", "id": "1"})).json()
    assert stored == {"enable": True, "intro_time": 0, "outro_time": 1e300}
    for body, message in [
        ({"key": "a+1", "config": "x"}, "缺少必要参数"),
        ({"key": "a+1", "config": {}}, "缺少必要参数"),
        ({"key": "a1", "config": {"enable": True}}, "无效的key格式"),
        ({"key": ["a+1"], "config": {"enable": True}}, "无效的key格式"),
        ({"key": "a+" + "1" * 600, "config": {"enable": True}}, "无效的key格式"),
    ]:
        response = await client.post("/api/skipconfigs", json=body)
        assert (response.status_code, response.json()) == (400, {"error": message}), body
    assert list((await client.get("/api/skipconfigs")).json()) == ["a+1"]


async def test_bodies_that_are_not_objects_keep_their_messages(inprocess_app: Any) -> None:
    app = await inprocess_app()
    client = await app.client(as_user="admin")
    headers = {"Content-Type": "application/json"}
    for body, status, message in [
        (b"", 400, "请求体不能为空"),
        (b"[1]", 400, "请求体必须是 JSON 对象"),
        (b'{"key": "a+1", "record": NaN}', 400, "请求体不是合法的 JSON"),
        (b'{"key": "a+1", "record": {"title": "' + b"x" * (1024 * 1024) + b'"}}', 413, "请求体过大"),
    ]:
        response = await client.post("/api/playrecords", content=body, headers=headers)
        assert (response.status_code, response.json()) == (status, {"error": message})
    anonymous = await app.client()
    response = await anonymous.post("/api/playrecords", json={"key": "a+1", "record": "junk"})
    assert response.status_code == 401  # who asks is settled before the body is read


async def test_openapi_describes_the_bodies_and_search_results(inprocess_app: Any) -> None:
    app = await inprocess_app()
    owner = await app.client(as_user="admin")
    spec = (await owner.get("/api/openapi.json")).json()
    paths = spec["paths"]
    for path, field, required in [
        ("/api/playrecords", "record", {"title", "source_name", "index"}),
        ("/api/favorites", "favorite", {"title", "source_name"}),
        ("/api/skipconfigs", "config", set()),
    ]:
        schema = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert set(schema["required"]) == {"key", field}
        entry = schema["properties"][field]
        assert set(entry.get("required", [])) == required, path
        assert "$ref" not in orjson.dumps(schema).decode()  # self-contained: nested models inlined
    record = paths["/api/playrecords"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert list(record["properties"]["record"]["properties"]) == list(PlayRecord.model_fields)
    schemas = spec["components"]["schemas"]
    assert list(schemas["SearchResult"]["properties"]) == [
        "id", "title", "poster", "episodes", "episodes_titles", "source", "source_name",
        "class", "year", "desc", "type_name", "douban_id",
    ]  # fmt: skip
    detail = paths["/api/detail"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert detail == {"$ref": "#/components/schemas/SearchResult"}
    search = schemas[
        paths["/api/search"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
            "$ref"
        ].rsplit("/", 1)[1]
    ]
    assert search["properties"]["results"]["items"] == {"$ref": "#/components/schemas/SearchResult"}
