"""Persistence: one async protocol, interchangeable backends (SQLite, Redis/Kvrocks)."""

from moontv.storage.factory import create_storage
from moontv.storage.protocol import Storage, StorageError, VersionConflict

__all__ = ["Storage", "StorageError", "VersionConflict", "create_storage"]
