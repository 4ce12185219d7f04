"""Item 7: hostile backup files get a 400 with bounded work (a zlib bomb, absurd scrypt parameters)."""

from __future__ import annotations

import hashlib
import os
import resource
import struct
import time
import zlib
from typing import Any

from moontv.admin import backup
from moontv.aes import aes_gcm_encrypt

PASSPHRASE = "backup-pass"


def _container(compressed: bytes, log2_n: int = 15, r: int = 8, p: int = 1) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    header = backup.HEADER.pack(
        backup.MAGIC, backup.FORMAT_VERSION, backup.KDF_SCRYPT, log2_n, r, p, salt, nonce
    )
    key = hashlib.scrypt(
        PASSPHRASE.encode(), salt=salt, n=1 << 15, r=8, p=1, dklen=32, maxmem=256 * 1024 * 1024
    )
    return header + aes_gcm_encrypt(key, nonce, compressed, header)


def _bomb(mebibytes: int) -> bytes:
    """A JSON-looking zlib stream that inflates to ``mebibytes`` MiB (built without holding it)."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    parts = [packer.compress(b'{"users":{"a":"')]
    parts.extend(packer.compress(chunk) for _ in range(mebibytes))
    parts.append(packer.flush())
    return b"".join(parts)


def _import(server: Any, blob: bytes) -> Any:
    owner = server.login()
    return owner.post(
        "/api/admin/data_migration/import",
        files={"file": ("backup.bin", blob, "application/octet-stream")},
        data={"password": PASSPHRASE},
    )


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_decompression_bomb_is_refused_within_a_memory_budget(live_app: Any) -> None:
    server = live_app(None)
    blob = _container(_bomb(480))
    assert len(blob) < 1024 * 1024  # well under a megabyte on the wire
    before = _peak_rss_mib()
    started = time.monotonic()
    answer = _import(server, blob)
    assert answer.status_code == 400, answer.text
    assert time.monotonic() - started < 30
    growth = _peak_rss_mib() - before
    assert growth < 200, f"peak RSS grew by {growth:.0f} MiB"


def test_absurd_scrypt_parameters_are_a_400_not_a_500(live_app: Any) -> None:
    server = live_app(None)
    for log2_n, r, p in ((20, 16, 1), (30, 8, 1), (15, 255, 255), (1, 1, 1)):
        salt, nonce = os.urandom(16), os.urandom(12)
        header = struct.pack(">4sBBBBB16s12s", b"MTVB", 1, 1, log2_n, r, p, salt, nonce)
        answer = _import(server, header + os.urandom(64))
        assert answer.status_code == 400, (log2_n, r, p, answer.status_code)
