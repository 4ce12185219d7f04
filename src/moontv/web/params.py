"""Typed query parameters shared by routes. A parameter that fails answers 400 with the message its
validator raises (the app's validation handler passes ``ValueError`` text through), so routes receive
clean values and ``/api/openapi.json`` describes every parameter."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator

MAX_URL = 4096
VOD_ID_RE = re.compile(r"^[\w-]{1,64}$")


def required(message: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(message)
        return value

    return check


def max_length(limit: int, message: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(message)
        return value

    return check


def text(limit: int, *, too_long: str, missing: str | None = None) -> AfterValidator:
    """A stripped text parameter: ``missing`` (if given) when empty, ``too_long`` past ``limit``.
    Declare it with ``validate_default=True`` and a ``""`` default so an absent parameter gets the
    route's own message instead of the generic one."""

    def check(value: str) -> str:
        value = value.strip()
        if missing is not None and not value:
            raise ValueError(missing)
        if len(value) > limit:
            raise ValueError(too_long)
        return value

    return AfterValidator(check)


def vod_id(value: str) -> str:
    if not VOD_ID_RE.match(value):
        raise ValueError("无效的视频ID格式")
    return value


def lenient_float(value: object) -> float | None:
    """A number, or None (the route's default) for anything unusable: junk, NaN, infinities."""
    if value is None or value == "":
        return None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def clamp(value: float | None, default: float, low: float, high: float) -> float:
    return default if value is None else min(max(value, low), high)


Timeout = Annotated[float | None, Query(description="seconds (clamped)"), BeforeValidator(lenient_float)]
ProxiedUrl = Annotated[
    str,
    Query(validate_default=True, description="an absolute http(s) URL"),
    AfterValidator(required("缺少 url 参数")),
    AfterValidator(max_length(MAX_URL, "url 参数过长")),
]
SourceKey = Annotated[
    str, Query(description="a source key"), AfterValidator(max_length(128, "source 参数过长"))
]
Signature = Annotated[str, Query(description="the signature the playlist proxy issued")]
Expires = Annotated[str, Query(description="when the signature expires (Unix seconds)")]
