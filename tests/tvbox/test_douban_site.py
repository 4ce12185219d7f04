"""The Douban façade's detail: card ids, hostile ids, matching and the play strings TVBox splits."""

from __future__ import annotations

import base64

import pytest

from moontv.tvbox.douban_site import (
    MAX_IDS,
    MAX_SOURCES,
    NOT_FOUND,
    DoubanRef,
    decode_ids,
    decode_ref,
    detail_vod,
    encode_ref,
    pick_matches,
)


def result(source: str, title: str, year: str, episodes: list[str], **extra: object) -> dict:
    return {
        "id": "1",
        "title": title,
        "year": year,
        "source": source,
        "source_name": f"源{source}",
        "episodes": episodes,
        "episodes_titles": [f"第{i + 1}集" for i in range(len(episodes))],
        "poster": f"https://img.example/{source}.jpg",
        "desc": "简介",
        "type_name": "剧情",
        **extra,
    }


def test_card_ids_round_trip_and_carry_no_separator_of_the_play_string() -> None:
    raw = encode_ref("1292052", "肖申克的救赎 The Shawshank, #1 $", "1994")
    assert not set(raw) & set(",#$&?/ ")
    assert decode_ref(raw) == DoubanRef("1292052", "肖申克的救赎 The Shawshank, #1 $", "1994")
    assert decode_ref(encode_ref("7", "无年份", "未知")) == DoubanRef("7", "无年份", "")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1292052",
        "abc.6IKW.1994",
        "1.%%%.1994",
        "1..",
        "1." + base64.urlsafe_b64encode(b"\xff\xfe").decode() + ".1994",
        "1." + base64.urlsafe_b64encode(("长" * 101).encode()).decode() + ".",
        "1." + "A" * 700 + ".2000",
        "1.a.b.c",
    ],
)
def test_hostile_ids_are_refused(raw: str) -> None:
    assert decode_ref(raw) is None


def test_ids_lists_are_bounded() -> None:
    many = ",".join(encode_ref(str(n), f"片{n}", "2020") for n in range(10))
    assert [r.douban_id for r in decode_ids(many)] == [str(n) for n in range(MAX_IDS)]
    assert decode_ids("junk,,x.y.z") == []


def test_matching_prefers_the_same_year_and_skips_unplayable_results() -> None:
    ref = DoubanRef("1", "长夜 行歌", "2024")
    results = [
        result("a", "长夜行歌", "2019", ["https://a/old.m3u8"]),
        result("a", "长夜行歌", "2024", ["https://a/new.m3u8"]),
        result("b", "长夜行歌", "2019", ["https://b/1.m3u8"]),
        result("c", "长夜行歌", "2024", []),
        result("d", "长夜行歌2", "2024", ["https://d/1.m3u8"]),
    ]
    matches = pick_matches(results, ref)
    assert [(m["source"], m["year"]) for m in matches] == [("a", "2024"), ("b", "2019")]
    crowd = [result(str(n), "长夜行歌", "2024", ["https://x/1.m3u8"]) for n in range(20)]
    assert len(pick_matches(crowd, ref)) == MAX_SOURCES


def test_detail_play_strings_and_the_not_found_answer() -> None:
    ref = DoubanRef("1", "长夜行歌", "2024")
    a = result("a", "长夜行歌", "2024", ["https://a/1.m3u8", "https://a/2#x.m3u8", "https://a/3.m3u8"])
    a["episodes_titles"] = ["第$1#集", "坏", ""]
    b = result("b", "长夜行歌", "2024", ["https://b/1.mp4"], source_name="源a")
    vod = detail_vod(ref, [a, b], lambda key, url: f"{url}?via={key}" if url.endswith(".m3u8") else url)
    assert vod["vod_play_from"] == "源a$$$源a-b"
    lines = [[episode.split("$") for episode in line.split("#")] for line in vod["vod_play_url"].split("$$$")]
    assert lines == [
        [["第 1 集", "https://a/1.m3u8?via=a"], ["第3集", "https://a/3.m3u8?via=a"]],
        [["第1集", "https://b/1.mp4"]],
    ]
    assert vod["vod_pic"] == "https://img.example/a.jpg" and vod["vod_id"] == encode_ref(
        "1", "长夜行歌", "2024"
    )
    missing = detail_vod(ref, [])
    assert missing["vod_content"] == NOT_FOUND and "vod_play_url" not in missing
