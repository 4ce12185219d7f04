"""How a title and an episode become a danmu_api match request, and which episode a manual pick means.

The rules follow the original client: season from ``第N季`` / ``Season N`` / ``S2`` (default 1), episode
from ``第N集`` / ``第N话`` / ``E05``, else the largest number 1–10000 in the episode title, else the
position in the list; the request's file name is ``"{title} S{season}E{episode} @{platform}"``.
Specials (SP, OVA, 特别篇, 番外) are season 0, as danmu servers number them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PLATFORMS = ("qiyi", "bilibili1", "imgo", "youku", "qq", "renren", "hanjutv", "bahamut", "dandan")
DEFAULT_PLATFORM = "bilibili1"
MAX_EPISODE = 10_000

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUMBER = r"(\d{1,5}|[零〇一二两三四五六七八九十百]{1,6})"
_SEASON_CN = re.compile(rf"\s*第\s*{_NUMBER}\s*[季部]")
_SEASON_EN = re.compile(r"\s*\b(?:season\s*(\d{1,3})|s(\d{1,3})(?=e\d|\b))", re.I)
_EPISODE_MARK = re.compile(rf"第\s*{_NUMBER}\s*[集话話期回]")
_EPISODE_SE = re.compile(r"\bs\d{1,3}\s*e(\d{1,5})\b|\b(?:ep?|episode)\s*\.?\s*(\d{1,5})\b", re.I)
_SPECIAL = re.compile(r"(?:^|[^a-z])(?:sp|ova|oad)\s*(\d{0,3})(?![a-z])|特别篇|特別篇|番外|特典", re.I)
_RESOLUTION = re.compile(r"\d{3,4}\s*[pk]\b|[248]k\b|\d{3,4}x\d{3,4}", re.I)
_DIGITS = re.compile(r"\d+")


def chinese_number(text: str) -> int | None:
    """``"12"`` → 12, ``"十二"`` → 12, ``"二十"`` → 20, ``"一百零五"`` → 105; None when unparsable."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    total += current
    return total or None


def split_season(title: str) -> tuple[str, int]:
    """The title without its season marker, and the season (1 when the title names none)."""
    match = _SEASON_CN.search(title)
    if match:
        season = chinese_number(match.group(1))
        if season is not None:
            return (title[: match.start()] + title[match.end() :]).strip(), season
    match = _SEASON_EN.search(title)
    if match:
        season = int(match.group(1) or match.group(2))
        return (title[: match.start()] + title[match.end() :]).strip(), season
    return title.strip(), 1


def is_special(episode_title: str) -> bool:
    return bool(_SPECIAL.search(episode_title or ""))


def episode_number(episode_title: str, index: int) -> int:
    """The number of an episode: ``第N集``, ``S2E05``, ``EP05``, else the largest 1–10000 number, else i+1."""
    text = episode_title or ""
    match = _EPISODE_MARK.search(text)
    if match:
        number = chinese_number(match.group(1))
        if number is not None and 0 < number <= MAX_EPISODE:
            return number
    match = _EPISODE_SE.search(text)
    if match:
        number = int(match.group(1) or match.group(2))
        if 0 < number <= MAX_EPISODE:
            return number
    special = _SPECIAL.search(text)
    if special:
        return int(special.group(1)) if special.group(1) else 1
    numbers = [int(n) for n in _DIGITS.findall(_RESOLUTION.sub(" ", text))]
    numbers = [n for n in numbers if 0 < n <= MAX_EPISODE]
    return max(numbers) if numbers else index + 1


@dataclass(frozen=True)
class MatchQuery:
    title: str
    season: int
    episode: int
    platform: str

    @property
    def file_name(self) -> str:
        return f"{self.title} S{self.season}E{self.episode:02d} @{self.platform}"


def build_query(title: str, episode_title: str, index: int, platform: str = DEFAULT_PLATFORM) -> MatchQuery:
    base, season = split_season(title.strip())
    if is_special(episode_title):
        season = 0
    return MatchQuery(
        title=base or title.strip(),
        season=season,
        episode=episode_number(episode_title, index),
        platform=platform if platform in PLATFORMS else DEFAULT_PLATFORM,
    )


def preselect_episode(episodes: list[dict[str, Any]], episode_title: str, index: int) -> int:
    """Which of an anime's episodes a manual pick starts on: the same title, else the same number, else
    the same position, else the first."""
    if not episodes:
        return 0
    titles = [str(e.get("episodeTitle") or "") for e in episodes]
    if episode_title and episode_title in titles:
        return titles.index(episode_title)
    wanted = episode_number(episode_title, index)
    for i, title in enumerate(titles):
        if title and episode_number(title, i) == wanted:
            return i
    return index if 0 <= index < len(episodes) else 0
