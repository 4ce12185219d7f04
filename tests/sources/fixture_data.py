"""Access to the recorded Apple CMS answers (tests/fixtures/maccms) and the expectations in its index.md."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.conftest import maccms_fixture_dir

FIXTURE_DIR: Path = maccms_fixture_dir()

# Episodes per vod_id in a full (videolist/detail) row, after the "most .m3u8 entries" group choice.
EPISODES = {1: 1, 2: 1, 3: 1, 4: 24, 5: 8, 6: 0, 7: 3, 8: 2, 9: 12, 10: 1, 11: 3}

_ROW = re.compile(r"^\| `(\w+)` \| `[^`]*` \| (\d+)[^|]*\| ([^|]*) \|")
_JSON_COUNTS = re.compile(r"total (\d+), pagecount (\d+), page (\d+), limit (\d+)")
_XML_COUNTS = re.compile(r"XML page (\d+) pagecount (\d+) pagesize (\d+) recordcount (\d+)")
_IDS = re.compile(r"ids \[([0-9, ]*)\]")


@dataclass(frozen=True)
class Recorded:
    name: str
    status: int
    content_type: str
    body: bytes
    method: str
    query: dict[str, list[str]]

    @property
    def list_mode(self) -> bool:
        """ac=list, no ac or an unknown ac: short items without play urls."""
        return self.query.get("ac", [""])[0] not in ("videolist", "detail")


@dataclass(frozen=True)
class Expected:
    status: int
    observed: str

    @property
    def ids(self) -> list[int] | None:
        match = _IDS.search(self.observed)
        if match is None:
            return None
        return [int(part) for part in match.group(1).split(",") if part.strip()]

    @property
    def counts(self) -> dict[str, int] | None:
        """page/pagecount/limit/total as the index reports them (JSON and XML rows)."""
        if match := _JSON_COUNTS.search(self.observed):
            total, pagecount, page, limit = map(int, match.groups())
        elif match := _XML_COUNTS.search(self.observed):
            page, pagecount, limit, total = map(int, match.groups())
        else:
            return None
        return {"page": page, "pagecount": pagecount, "limit": limit, "total": total}


def fixture_names() -> list[str]:
    return sorted(path.name.removesuffix(".response.json") for path in FIXTURE_DIR.glob("*.response.json"))


@cache
def load(name: str) -> Recorded:
    response = json.loads((FIXTURE_DIR / f"{name}.response.json").read_text(encoding="utf-8"))
    request_line = (FIXTURE_DIR / f"{name}.request.txt").read_text(encoding="utf-8").splitlines()[0]
    method, target = request_line.split(" ", 1)
    return Recorded(
        name=name,
        status=response["status"],
        content_type=response["content_type"],
        body=response["body"].encode("utf-8"),
        method=method,
        query=parse_qs(urlsplit(target).query, keep_blank_values=True),
    )


@cache
def expectations() -> dict[str, Expected]:
    rows: dict[str, Expected] = {}
    for line in (FIXTURE_DIR / "index.md").read_text(encoding="utf-8").splitlines():
        if match := _ROW.match(line):
            rows[match.group(1)] = Expected(status=int(match.group(2)), observed=match.group(3).strip())
    return rows


def expected_episodes(recorded: Recorded, vod_id: int) -> int:
    if recorded.list_mode:
        return 0
    if recorded.query.get("from") == ["lzm3u8"] and vod_id == 5:
        return 6  # only the lzm3u8 group is returned
    return EPISODES[vod_id]
