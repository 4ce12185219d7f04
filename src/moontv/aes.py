"""AES-GCM and AES-CBC from the system OpenSSL (``libcrypto``), through ctypes.

Python's own ``_hashlib`` and ``_ssl`` modules are linked against libcrypto, so the library is
already on every machine (and container) this server runs on; binding its EVP cipher API directly
spares a 12 MB third-party package. libcrypto is found and bound on first use, so importing this
module costs nothing.

Layouts match what the ``cryptography`` package produced before: AES-GCM output is
``ciphertext || 16-byte tag``; AES-CBC uses PKCS#7 padding unless ``padding=False``. AES-128,
-192 and -256 are picked by the key length (16, 24 or 32 bytes).

Failures of decryption (wrong key, tampered data or tag, bad padding) and of OpenSSL itself raise
:class:`CryptoError`; malformed arguments (key, IV or nonce lengths, oversized input) raise
``ValueError``. Messages never contain key material.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "CryptoError",
    "aes_cbc_decrypt",
    "aes_cbc_encrypt",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
]

BLOCK_SIZE = 16
TAG_SIZE = 16
GCM_NONCE_MIN, GCM_NONCE_MAX = 8, 128  # what cryptography's AESGCM accepted
MAX_INPUT = 1 << 32  # bytes per call; far above anything this server handles
_CHUNK = 1 << 28  # bytes per EVP_*Update call, so every length stays well inside a C int

# openssl/evp.h (the same values in OpenSSL 1.1 and 3.x)
_EVP_CTRL_GCM_SET_IVLEN = 0x9
_EVP_CTRL_GCM_GET_TAG = 0x10
_EVP_CTRL_GCM_SET_TAG = 0x11


class CryptoError(Exception):
    """Decryption failed (wrong key, tampered data, bad padding) or OpenSSL refused an operation."""


# -- loading libcrypto ---------------------------------------------------------------------------------


class _LibCrypto:
    """The bound functions of one loaded libcrypto."""

    def __init__(self, lib: Any) -> None:
        import ctypes

        ptr, c_int, int_p = ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)

        def bind(name: str, restype: Any, *argtypes: Any) -> Any:
            function = getattr(lib, name)  # AttributeError: symbol missing -> try another library
            function.restype = restype
            function.argtypes = list(argtypes)
            return function

        self.ctx_new = bind("EVP_CIPHER_CTX_new", ptr)
        self.ctx_free = bind("EVP_CIPHER_CTX_free", None, ptr)
        self.ctx_ctrl = bind("EVP_CIPHER_CTX_ctrl", c_int, ptr, c_int, c_int, ptr)
        self.set_padding = bind("EVP_CIPHER_CTX_set_padding", c_int, ptr, c_int)
        # (ctx, cipher, engine, key, iv) / (ctx, out, &outl, in, inl) / (ctx, out, &outl)
        self.encrypt_init = bind("EVP_EncryptInit_ex", c_int, ptr, ptr, ptr, ptr, ptr)
        self.encrypt_update = bind("EVP_EncryptUpdate", c_int, ptr, ptr, int_p, ptr, c_int)
        self.encrypt_final = bind("EVP_EncryptFinal_ex", c_int, ptr, ptr, int_p)
        self.decrypt_init = bind("EVP_DecryptInit_ex", c_int, ptr, ptr, ptr, ptr, ptr)
        self.decrypt_update = bind("EVP_DecryptUpdate", c_int, ptr, ptr, int_p, ptr, c_int)
        self.decrypt_final = bind("EVP_DecryptFinal_ex", c_int, ptr, ptr, int_p)
        self.clear_errors = bind("ERR_clear_error", None)
        self.ciphers: dict[tuple[str, int], Any] = {
            (mode, bits // 8): bind(f"EVP_aes_{bits}_{mode}", ptr)
            for mode in ("gcm", "cbc")
            for bits in (128, 192, 256)
        }

    def cipher(self, mode: str, key_len: int) -> int:
        cipher = self.ciphers[(mode, key_len)]()
        if not cipher:
            raise CryptoError(f"OpenSSL has no AES-{key_len * 8}-{mode.upper()}")
        return int(cipher)


def _python_crypto_modules() -> list[str]:
    """Python's own OpenSSL extension modules (``_hashlib``, ``_ssl``). A handle opened on one of them
    resolves the EVP functions through its dependency on libcrypto, so the cipher runs in the very
    library Python already loaded, without looking for its path."""
    paths: list[str] = []
    for name in ("_hashlib", "_ssl"):
        with contextlib.suppress(ImportError):
            module = __import__(name)
            path = getattr(module, "__file__", None)
            if path and path not in paths:
                paths.append(path)
    return paths


def _candidates() -> Iterator[str]:
    """Where libcrypto may be reached, best first (find_library runs ldconfig: only if needed)."""
    seen = _python_crypto_modules()
    yield from seen
    import ctypes.util

    for name in (ctypes.util.find_library("crypto"), "libcrypto.so.3"):
        if name and name not in seen:
            seen.append(name)
            yield name


def _open() -> _LibCrypto:
    import ctypes

    tried = []
    for name in _candidates():
        try:
            return _LibCrypto(ctypes.CDLL(name))
        except (OSError, AttributeError) as exc:
            tried.append(f"{name}: {exc}")
    raise RuntimeError("libcrypto (OpenSSL) could not be loaded: " + ("; ".join(tried) or "none found"))


_lib: _LibCrypto | None = None
_lock = threading.Lock()


def _libcrypto() -> _LibCrypto:
    global _lib
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib = _open()
    return _lib


# -- the cipher runs ----------------------------------------------------------------------------------


def _as_bytes(value: Any, what: str) -> bytes:
    if type(value) is bytes:
        return value
    try:
        return memoryview(value).tobytes()
    except TypeError:
        raise TypeError(f"{what} must be bytes-like, not {type(value).__name__}") from None


def _address(data: bytes) -> int:
    """The address of a bytes object's buffer (valid while ``data`` is alive; never written to)."""
    import ctypes

    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0


def _check_key(key: bytes) -> None:
    if len(key) not in (16, 24, 32):
        raise ValueError(f"AES key must be 16, 24 or 32 bytes, not {len(key)}")


def _check_size(data: bytes, what: str) -> None:
    if len(data) > MAX_INPUT:
        raise ValueError(f"{what} too large ({len(data)} bytes, at most {MAX_INPUT})")


def _run(
    mode: str,
    encrypt: bool,
    key: bytes,
    iv: bytes,
    data: bytes,
    *,
    aad: bytes = b"",
    padding: bool = True,
    tag: bytes | None = None,
) -> tuple[bytes, bytes | None]:
    """One EVP cipher run: (output, GCM tag when encrypting with GCM, else None)."""
    import ctypes

    lib = _libcrypto()
    cipher = lib.cipher(mode, len(key))
    if encrypt:
        init, update, final = lib.encrypt_init, lib.encrypt_update, lib.encrypt_final
    else:
        init, update, final = lib.decrypt_init, lib.decrypt_update, lib.decrypt_final

    def check(result: int, what: str) -> None:
        if result != 1:
            raise CryptoError(f"OpenSSL {what} failed")

    ctx = lib.ctx_new()
    if not ctx:
        raise MemoryError("EVP_CIPHER_CTX_new failed")
    try:
        check(init(ctx, cipher, None, None, None), "cipher init")
        if mode == "gcm":
            check(lib.ctx_ctrl(ctx, _EVP_CTRL_GCM_SET_IVLEN, len(iv), None), "GCM IV length")
        else:
            check(lib.set_padding(ctx, 1 if padding else 0), "set padding")
        check(init(ctx, None, None, key, iv), "key init")

        out_len = ctypes.c_int(0)
        aad_at = _address(aad)
        for start in range(0, len(aad), _CHUNK):
            count = min(_CHUNK, len(aad) - start)
            check(update(ctx, None, ctypes.byref(out_len), aad_at + start, count), "AAD update")

        # Room for the input plus one block (CBC padding); OpenSSL trusts the caller on this.
        out = bytearray(len(data) + BLOCK_SIZE)
        out_buffer = (ctypes.c_char * len(out)).from_buffer(out)
        out_at, data_at, total = ctypes.addressof(out_buffer), _address(data), 0
        for start in range(0, len(data), _CHUNK):
            count = min(_CHUNK, len(data) - start)
            check(update(ctx, out_at + total, ctypes.byref(out_len), data_at + start, count), "update")
            total += out_len.value
            if not 0 <= total <= start + count:  # never more out than in, so far
                raise CryptoError("OpenSSL update returned an impossible length")

        if tag is not None:
            tag_buffer = ctypes.create_string_buffer(tag, TAG_SIZE)
            check(lib.ctx_ctrl(ctx, _EVP_CTRL_GCM_SET_TAG, TAG_SIZE, tag_buffer), "GCM set tag")
        if final(ctx, out_at + total, ctypes.byref(out_len)) != 1:
            if encrypt:
                raise CryptoError("OpenSSL final failed")
            if mode == "gcm":
                raise CryptoError("authentication failed (wrong key, or the data or tag was altered)")
            raise CryptoError("bad padding (wrong key or corrupted data)")
        total += out_len.value
        if not 0 <= total <= len(out):
            raise CryptoError("OpenSSL final returned an impossible length")

        tag_out = None
        if mode == "gcm" and encrypt:
            tag_buffer = ctypes.create_string_buffer(TAG_SIZE)
            check(lib.ctx_ctrl(ctx, _EVP_CTRL_GCM_GET_TAG, TAG_SIZE, tag_buffer), "GCM get tag")
            tag_out = tag_buffer.raw
        del out_buffer
        return memoryview(out)[:total].tobytes(), tag_out
    except CryptoError:
        lib.clear_errors()  # leave no stale entry in this thread's OpenSSL error queue (ssl reads it)
        raise
    finally:
        lib.ctx_free(ctx)


# -- public API ---------------------------------------------------------------------------------------


def _gcm_args(key: Any, nonce: Any, data: Any, aad: Any) -> tuple[bytes, bytes, bytes, bytes]:
    key, nonce = _as_bytes(key, "key"), _as_bytes(nonce, "nonce")
    data, aad = _as_bytes(data, "data"), _as_bytes(aad, "aad")
    _check_key(key)
    if not GCM_NONCE_MIN <= len(nonce) <= GCM_NONCE_MAX:
        raise ValueError(f"GCM nonce must be {GCM_NONCE_MIN} to {GCM_NONCE_MAX} bytes, not {len(nonce)}")
    _check_size(data, "data")
    _check_size(aad, "aad")
    return key, nonce, data, aad


def aes_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-GCM: ``ciphertext || 16-byte tag`` (the layout of cryptography's ``AESGCM.encrypt``)."""
    key, nonce, plaintext, aad = _gcm_args(key, nonce, plaintext, aad)
    ciphertext, tag = _run("gcm", True, key, nonce, plaintext, aad=aad)
    assert tag is not None
    return ciphertext + tag


def aes_gcm_decrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    """The inverse of :func:`aes_gcm_encrypt`; :class:`CryptoError` unless key, nonce, data and
    AAD are exactly the ones that were encrypted."""
    key, nonce, data, aad = _gcm_args(key, nonce, data, aad)
    if len(data) < TAG_SIZE:
        raise CryptoError("data is shorter than the GCM tag")
    plaintext, _ = _run("gcm", False, key, nonce, data[:-TAG_SIZE], aad=aad, tag=data[-TAG_SIZE:])
    return plaintext


def _cbc_args(key: Any, iv: Any, data: Any) -> tuple[bytes, bytes, bytes]:
    key, iv, data = _as_bytes(key, "key"), _as_bytes(iv, "iv"), _as_bytes(data, "data")
    _check_key(key)
    if len(iv) != BLOCK_SIZE:
        raise ValueError(f"CBC IV must be {BLOCK_SIZE} bytes, not {len(iv)}")
    _check_size(data, "data")
    return key, iv, data


def aes_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes, *, padding: bool = True) -> bytes:
    """AES-CBC with PKCS#7 padding (``padding=False``: the plaintext must be whole blocks)."""
    key, iv, plaintext = _cbc_args(key, iv, plaintext)
    if not padding and len(plaintext) % BLOCK_SIZE:
        raise ValueError(f"without padding the plaintext must be a multiple of {BLOCK_SIZE} bytes")
    return _run("cbc", True, key, iv, plaintext, padding=padding)[0]


def aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes, *, padding: bool = True) -> bytes:
    """The inverse of :func:`aes_cbc_encrypt`; PKCS#7 padding is checked and removed unless
    ``padding=False`` (then the raw blocks come back)."""
    key, iv, ciphertext = _cbc_args(key, iv, ciphertext)
    if len(ciphertext) % BLOCK_SIZE or (padding and not ciphertext):
        raise CryptoError(f"ciphertext must be a non-empty multiple of {BLOCK_SIZE} bytes")
    return _run("cbc", False, key, iv, ciphertext, padding=padding)[0]
