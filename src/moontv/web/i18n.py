"""The UI string catalogues (``web/strings/<lang>.json``), loaded once on first use."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request

STRINGS_DIR = Path(__file__).parent / "strings"
LANGS = ("zh-CN", "en")


@cache
def catalog(lang: str) -> dict[str, str]:
    """The strings of one language (``lang`` must be one of ``LANGS``)."""
    if lang not in LANGS:
        raise KeyError(lang)
    data = json.loads((STRINGS_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return {str(key): str(value) for key, value in data.items()}


def request_lang(request: Request) -> str:
    value = request.cookies.get("lang", "")
    return value if value in LANGS else LANGS[0]


def strings(request: Request) -> dict[str, str]:
    """The catalogue of the request's language (``lang`` cookie, Chinese by default)."""
    return catalog(request_lang(request))
