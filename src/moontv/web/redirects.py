"""Where a sign-in may send the browser afterwards: only paths on this site.

Browsers remove ASCII tab, CR and LF anywhere in a URL and treat ``\\`` like ``/``, so
``/\\t/evil.example`` becomes ``//evil.example`` (another host). The check below first does
the same clean-up, then accepts only ``/path`` that does not start a network-path reference.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_REDIRECT = 2048


def safe_redirect(raw: str | None) -> str:
    """``raw`` when it is a same-site path (after the browser's clean-up), else ``/``."""
    if not raw or len(raw) > MAX_REDIRECT:
        return "/"
    cleaned = raw.replace("\t", "").replace("\r", "").replace("\n", "").strip("\x00 ")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in cleaned) or "\\" in cleaned:
        return "/"
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return "/"
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return "/"
    return cleaned
