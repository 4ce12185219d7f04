"""The per-user records, defined once: what the API accepts, what a backup may carry, what storage holds.

A record is stored as ``model.stored()`` (the MoonTV wire shape, fields in this order). Values are
coerced the way MoonTV's JavaScript did: numbers may arrive as numeric strings, text may arrive as a
number, ``null``/``""`` mean "not given". Text is cut to a bound instead of refused; numbers must be
finite and within JavaScript's safe-integer range. Unknown fields are dropped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MAX_TEXT = 1000
MAX_COVER = 2048
MAX_YEAR = 16
MAX_SAFE_INTEGER = 2**53 - 1  # larger numbers do not survive a JavaScript client (nor orjson past 2**64)
MAX_KEY = 512


def record_key(value: Any) -> str:
    """``"{source}+{id}"``: both parts non-empty (the id may itself contain '+')."""
    if not isinstance(value, str) or len(value) > MAX_KEY:
        raise ValueError("not a record key")
    source, _, vod_id = value.partition("+")
    if not source or not vod_id:
        raise ValueError("not a record key")
    return value


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("not a number")
    number = float(value)  # numeric strings; raises ValueError on junk, OverflowError on huge ints
    if not math.isfinite(number) or abs(number) > MAX_SAFE_INTEGER:
        raise ValueError("not a finite number in range")
    return number


def _now_ms() -> int:
    return int(time.time() * 1000)


def _integer(minimum: int, missing: Callable[[], int] | None) -> BeforeValidator:
    """A whole number (fractions cut), raised to ``minimum``; ``None``/``""`` give ``missing``
    (or fail when there is no such default)."""

    def coerce(value: Any) -> int:
        if value is None or value == "":
            if missing is None:
                raise ValueError("required")
            return missing()
        try:
            return max(minimum, int(_finite(value)))
        except OverflowError:
            raise ValueError("not a finite number in range") from None

    return BeforeValidator(coerce, json_schema_input_type=int | float | str | None)


def _text(limit: int, *, strip: bool = False) -> BeforeValidator:
    def coerce(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("not text")
        text = str(value)[:limit]
        return text.strip() if strip else text

    return BeforeValidator(coerce, json_schema_input_type=str | int | float | None)


# Text longer than its bound is cut, not refused (a bound, not a rule a client could break).
Title = Annotated[str, _text(MAX_TEXT, strip=True), Field(min_length=1)]
Text = Annotated[str, _text(MAX_TEXT)]
Cover = Annotated[str, _text(MAX_COVER)]
Year = Annotated[str, _text(MAX_YEAR)]
Count = Annotated[int, _integer(0, lambda: 0), Field(ge=0, le=MAX_SAFE_INTEGER)]
Episode = Annotated[int, _integer(-MAX_SAFE_INTEGER, None), Field(ge=1, le=MAX_SAFE_INTEGER)]
Timestamp = Annotated[int, _integer(0, _now_ms), Field(ge=0, le=MAX_SAFE_INTEGER, default_factory=_now_ms)]


class _Stored(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def stored(self) -> dict[str, Any]:
        """The JSON-able dict storage keeps (``moontv.storage.protocol``)."""
        return self.model_dump()


class PlayRecord(_Stored):
    """One title's watch progress (``u:{user}:pr`` / ``play_records``): 1-based episode, seconds, ms epoch."""

    title: Title
    source_name: Title
    cover: Cover = ""
    year: Year = ""
    index: Episode
    total_episodes: Count = 0
    play_time: Count = 0
    total_time: Count = 0
    save_time: Timestamp
    search_title: Text = ""


def _origin(value: Any) -> str | None:
    return value if value in ("vod", "live") else None


class Favorite(_Stored):
    """One favourite title (``u:{user}:fav`` / ``favorites``); ``origin`` tells live channels from videos."""

    source_name: Title
    total_episodes: Count = 0
    title: Title
    year: Year = ""
    cover: Cover = ""
    save_time: Timestamp
    search_title: Text = ""
    origin: Annotated[Literal["vod", "live"] | None, BeforeValidator(_origin)] = None

    def stored(self) -> dict[str, Any]:
        """The stored form: ``origin`` only when one was given (MoonTV's shape has no such field)."""
        return self.model_dump(exclude={"origin"} if self.origin is None else None)


def _number_or_zero(value: Any) -> int | float:
    """JavaScript's ``Number(x) || 0`` for the values a client can send (whole numbers come back as int)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        number = float(value) if isinstance(value, int | float | str) and value != "" else 0.0
    except (ValueError, OverflowError):
        return 0.0
    if not math.isfinite(number):
        return 0.0
    return int(number) if number.is_integer() and abs(number) <= MAX_SAFE_INTEGER else number


Seconds = Annotated[int | float, BeforeValidator(_number_or_zero)]


class SkipConfig(_Stored):
    """Skip-intro/outro times of one title (``u:{user}:skip`` / ``skip_configs``), in seconds."""

    enable: Annotated[bool, BeforeValidator(bool)] = False
    intro_time: Seconds = 0
    outro_time: Seconds = 0
