"""Admin services: sources, users, groups, categories, site settings, config file, backups, checks."""

from __future__ import annotations


class AdminError(Exception):
    """A refused admin operation; ``status`` and ``message`` go to the client as they are."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
