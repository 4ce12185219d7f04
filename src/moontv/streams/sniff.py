"""What relayed bytes really are, decided from the bytes (never from the upstream's label).

The proxies serve upstream bytes on the app's own origin, so a body a browser would render as a
document (HTML, SVG, XML, PDF, ...) could run script as the signed-in user. Every relaying route
therefore picks its ``Content-Type`` from these functions and refuses what they do not recognise.

Media detection follows what players accept: many CDNs label genuine MPEG-TS segments
``image/png``, ``text/plain`` or ``text/html`` and some prepend a fake PNG/JPEG header to each
segment; such bodies are still media (typed ``video/mp2t``) because the TS packets are found
after the disguise.
"""

from __future__ import annotations

TS_PACKET = 188
SNIFF_BYTES = 256 * 1024  # how much of a segment's head is looked at (fake image headers included)

SEGMENT_TYPES = frozenset({"video/mp2t", "video/mp4", "audio/aac", "audio/mpeg", "text/vtt"})
KEY_TYPE = "application/octet-stream"
KEY_LENGTH = 16

_MP4_BOXES = frozenset({b"ftyp", b"styp", b"moof", b"moov", b"sidx", b"emsg", b"prft", b"free", b"mdat"})


def ts_offset(data: bytes, limit: int = SNIFF_BYTES) -> int | None:
    """First offset (within ``limit``) where MPEG-TS packets start: 0x47 every 188 bytes.

    Three packets in a row are required, or every packet of a body shorter than that.
    """
    end = min(len(data), limit)
    start = data.find(b"\x47", 0, end)
    while start != -1:
        following = range(start + TS_PACKET, min(start + 3 * TS_PACKET, len(data)), TS_PACKET)
        enough = len(following) == 2 or start + TS_PACKET * (len(following) + 1) >= len(data)
        if enough and all(data[p] == 0x47 for p in following):
            return start
        start = data.find(b"\x47", start + 1, end)
    return None


def _is_mp4(data: bytes) -> bool:
    return len(data) >= 8 and data[4:8] in _MP4_BOXES


def _is_adts(data: bytes) -> bool:
    return len(data) >= 7 and data[0] == 0xFF and (data[1] & 0xF6) == 0xF0


def _is_mpeg_audio(data: bytes) -> bool:
    return len(data) >= 4 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0 and (data[1] & 0x06) != 0


def _skip_id3(data: bytes) -> bytes:
    """Packed audio segments start with an ID3 tag (the HLS timestamp); skip it."""
    if len(data) >= 10 and data[:3] == b"ID3":
        size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
        return data[10 + size :]
    return data


def segment_type(head: bytes) -> str | None:
    """The media type of a segment whose body starts with ``head``; None for anything else."""
    if _is_mp4(head):
        return "video/mp4"
    audio = _skip_id3(head)
    if _is_adts(audio):
        return "audio/aac"
    if audio is not head and _is_mpeg_audio(audio):
        return "audio/mpeg"
    if head.startswith((b"WEBVTT", b"\xef\xbb\xbfWEBVTT")):
        return "text/vtt"
    if ts_offset(head) is not None:
        return "video/mp2t"
    if audio is not head and ts_offset(audio) is not None:
        return "video/mp2t"
    return None


def image_type(body: bytes) -> str | None:
    """The image type of ``body`` from its magic number (no SVG: it is a document)."""
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if body.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(body) >= 12 and body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    if len(body) >= 12 and body[4:8] == b"ftyp" and body[8:12] in (b"avif", b"avis"):
        return "image/avif"
    if body.startswith(b"BM") and len(body) >= 26:
        return "image/bmp"
    if body.startswith(b"\x00\x00\x01\x00") and len(body) >= 22:
        return "image/x-icon"
    return None


def key_type(body: bytes) -> str | None:
    """An AES-128 key is exactly 16 opaque bytes."""
    return KEY_TYPE if len(body) == KEY_LENGTH else None


# Headers on every response that carries relayed bytes: never sniffed, never a document.
RELAY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
