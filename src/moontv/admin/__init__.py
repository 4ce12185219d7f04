"""Admin services: sources, users, groups, categories, site settings, config file, backups, checks."""

from __future__ import annotations

from moontv.errors import ServiceError


class AdminError(ServiceError):
    """A refused admin operation; ``status`` and ``message`` go to the client as they are."""
