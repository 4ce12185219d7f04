"""The one error family services raise for a refused or failed operation.

A ``ServiceError`` carries what the client is told: ``status``, ``message`` and any ``extra`` fields of the
JSON answer (``{"error": message, **extra}``), plus response ``headers``. Services stay free of HTTP
types; the web layer answers every ``ServiceError`` the same way (one exception handler on the app).

``RefusedDestination`` marks a URL the SSRF guard refused (``moontv.streams.netguard.BlockedURL``); it lives
here so the web layer can answer it without importing the HTTP client at start-up.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    def __init__(
        self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra


class RefusedDestination(Exception):
    """A destination the SSRF guard refused; ``reason`` says why, in English, for logs."""

    reason: str
