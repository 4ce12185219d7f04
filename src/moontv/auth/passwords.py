"""Password hashing with argon2id, plus verification of values written by MoonTV/LunaTV.

Legacy values are verified once and then replaced by an argon2 hash (``needs_rehash``):
- plain text (MoonTV ≤ 3.x and LunaTV before 100.1 stored the password itself),
- ``salt:hash`` hex from Node's ``crypto.scrypt`` (N=16384, r=8, p=1, 64-byte key).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~20 ms here).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def dummy_hash() -> str:
    """Verified against when there is no stored value, so an unknown user costs the same as a wrong
    password. Made on first use, not at import (an argon2 hash takes 19 MiB and tens of ms)."""
    return _hasher.hash(secrets.token_urlsafe(16))


_SCRYPT_RE = re.compile(r"^([0-9a-f]{16,128}):([0-9a-f]{128})$")


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> Verification:
    if not stored:
        return Verification(False)
    if stored.startswith("$argon2"):
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(False)
        return Verification(True, _hasher.check_needs_rehash(stored))
    match = _SCRYPT_RE.match(stored)
    if match:
        return Verification(_verify_scrypt(match.group(1), match.group(2), password), True)
    return Verification(hmac.compare_digest(stored.encode(), password.encode()), True)


def _verify_scrypt(salt_hex: str, hash_hex: str, password: str) -> bool:
    expected = bytes.fromhex(hash_hex)
    # Node code passes the hex salt string itself as the salt; accept raw bytes too.
    for salt in (salt_hex.encode(), bytes.fromhex(salt_hex)):
        derived = hashlib.scrypt(
            password.encode(), salt=salt, n=16384, r=8, p=1, dklen=len(expected), maxmem=64 * 1024 * 1024
        )
        if hmac.compare_digest(derived, expected):
            return True
    return False
