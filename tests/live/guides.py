"""Generated XMLTV guides for the tests and the memory measurement (written, never recorded)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

CST = timezone(timedelta(hours=8))


def xmltv_time(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M%S %z")


def guide_chunks(
    channels: list[tuple[str, str]],
    start: datetime,
    *,
    hours: int,
    minutes_per_show: int = 30,
    title: str = "{name} 节目 {n}",
    filler_channels: int = 0,
    desc_chars: int = 0,
) -> Iterator[bytes]:
    """XMLTV text in pieces: ``channels`` is [(id, display name)]; filler channels pad the size."""
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv>\n'
    everyone = channels + [(f"filler{i}", f"Filler {i}") for i in range(filler_channels)]
    for ident, name in everyone:
        label = f'<display-name lang="zh">{escape(name)}</display-name>'
        yield f'<channel id="{escape(ident)}">{label}</channel>\n'.encode()
    desc = "说明" * (desc_chars // 2)
    shows = hours * 60 // minutes_per_show
    for ident, name in everyone:
        parts = []
        for n in range(shows):
            begin = start + timedelta(minutes=n * minutes_per_show)
            end = begin + timedelta(minutes=minutes_per_show)
            text = escape(title.format(name=name, n=n))
            parts.append(
                f'<programme start="{xmltv_time(begin)}" stop="{xmltv_time(end)}" channel="{escape(ident)}">'
                f'<title lang="zh">{text}</title><desc>{desc}</desc></programme>\n'
            )
            if len(parts) >= 200:
                yield "".join(parts).encode()
                parts = []
        if parts:
            yield "".join(parts).encode()
    yield b"</tv>\n"


def guide_bytes(*args, **kwargs) -> bytes:
    return b"".join(guide_chunks(*args, **kwargs))


def write_gzip_guide(path, target_bytes: int, channels: list[tuple[str, str]], start: datetime) -> int:
    """A gzip XMLTV of about ``target_bytes`` uncompressed; returns the uncompressed size."""
    per_channel = 24 * 7 * 2 * 415  # bytes: a week of half-hour shows with a short description
    fillers = max(0, target_bytes // per_channel - len(channels))
    size = 0
    with gzip.open(path, "wb", compresslevel=1) as out:
        for chunk in guide_chunks(channels, start, hours=24 * 7, filler_channels=fillers, desc_chars=80):
            out.write(chunk)
            size += len(chunk)
    return size
