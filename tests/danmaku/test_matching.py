"""Matching a title and an episode to a danmu_api file name, on the titles that trip naive parsers."""

from __future__ import annotations

import pytest

from moontv.danmaku.matching import (
    build_query,
    chinese_number,
    episode_number,
    preselect_episode,
    split_season,
)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("鬼灭之刃", ("鬼灭之刃", 1)),
        ("鬼灭之刃 第二季", ("鬼灭之刃", 2)),
        ("鬼灭之刃第3季", ("鬼灭之刃", 3)),
        ("进击的巨人 第十二季", ("进击的巨人", 12)),
        ("斗罗大陆 第二十一部", ("斗罗大陆", 21)),
        ("Stranger Things Season 4", ("Stranger Things", 4)),
        ("The Boys S2", ("The Boys", 2)),
        ("Mass Effect 2", ("Mass Effect 2", 1)),  # a sequel number is not a season
        ("Class 5", ("Class 5", 1)),
        ("2046", ("2046", 1)),
    ],
)
def test_split_season(title: str, expected: tuple[str, int]) -> None:
    assert split_season(title) == expected


@pytest.mark.parametrize(
    ("episode_title", "index", "expected"),
    [
        ("第12话", 0, 12),
        ("第12話", 0, 12),
        ("第 7 集", 0, 7),
        ("第十二集", 0, 12),
        ("第一百零五集", 0, 105),
        ("S2E05", 0, 5),
        ("s02e13 1080p", 0, 13),
        ("EP08", 0, 8),
        ("Episode 3", 0, 3),
        ("07", 0, 7),
        ("2160p 正片 03", 0, 3),  # a resolution is not an episode number
        ("20231105期", 2, 3),  # nothing between 1 and 10000: the position
        ("2023-11-05", 0, 2023),  # the original's rule: the largest number up to 10000
        ("正片", 4, 5),
        ("", 9, 10),
        ("SP", 0, 1),
        ("SP2", 0, 2),
        ("OVA", 3, 1),
        ("特别篇", 5, 1),
    ],
)
def test_episode_number(episode_title: str, index: int, expected: int) -> None:
    assert episode_number(episode_title, index) == expected


def test_file_name_is_title_season_episode_platform() -> None:
    assert build_query("鬼灭之刃 第二季", "第5集", 4).file_name == "鬼灭之刃 S2E05 @bilibili1"
    assert build_query("The Boys", "S3E08", 7, "qq").file_name == "The Boys S1E08 @qq"
    assert build_query("星际迷航", "第12话", 11, "youku").file_name == "星际迷航 S1E12 @youku"
    # specials are season 0; an unknown platform falls back to the default
    assert build_query("星际迷航", "特别篇", 12, "evil.example").file_name == "星际迷航 S0E01 @bilibili1"
    assert build_query("星际迷航 第二季", "SP2", 0).file_name == "星际迷航 S0E02 @bilibili1"


def test_chinese_numbers() -> None:
    assert [chinese_number(t) for t in ("十", "十一", "二十", "二十一", "一百零五", "两", "x")] == [
        10,
        11,
        20,
        21,
        105,
        2,
        None,
    ]


def test_preselect_episode_prefers_title_then_number_then_position() -> None:
    episodes = [{"episodeTitle": f"第{n}集"} for n in range(1, 13)]
    assert preselect_episode(episodes, "第5集", 0) == 4  # same title
    assert preselect_episode(episodes, "EP07", 0) == 6  # same number
    specials = [{"episodeTitle": "OP"}, {"episodeTitle": "ED"}, {"episodeTitle": "PV"}]
    assert preselect_episode(specials, "正片", 1) == 1  # same position
    assert preselect_episode(specials, "正片", 9) == 0  # else the first
    assert preselect_episode([], "第1集", 0) == 0
