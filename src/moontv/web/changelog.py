"""The release notes shown in the "about" dialog: ``changelog.json`` shipped with the package (no
network call). Newest release first; each has ``version``, ``date`` and ``changes`` per UI language."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson

CHANGELOG_PATH = Path(__file__).with_name("changelog.json")


@functools.cache
def _releases() -> list[dict[str, Any]]:
    data = orjson.loads(CHANGELOG_PATH.read_bytes())
    return data if isinstance(data, list) else []


def releases(lang: str) -> list[dict[str, Any]]:
    """Every release with its changes in ``lang`` (Chinese when that language has none)."""
    out = []
    for release in _releases():
        changes = release.get("changes") or {}
        out.append(
            {
                "version": str(release.get("version", "")),
                "date": str(release.get("date", "")),
                "changes": [str(c) for c in changes.get(lang) or changes.get("zh-CN") or []],
            }
        )
    return out
