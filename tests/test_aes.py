"""The ctypes AES bindings to libcrypto: published test vectors, the openssl CLI, failure modes."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

import pytest

from moontv import aes
from moontv.admin.backup import decrypt_backup
from moontv.aes import CryptoError, aes_cbc_decrypt, aes_cbc_encrypt, aes_gcm_decrypt, aes_gcm_encrypt

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")
h = bytes.fromhex

# -- AES-256-GCM: the test vectors of the GCM specification (McGrew & Viega, test cases 13-18), the
# reference vectors of NIST SP 800-38D ---------------------------------------------------------------

GCM_KEY = h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
GCM_PLAIN = h(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
GCM_AAD = h("feedfacedeadbeeffeedfacedeadbeefabaddad2")
GCM_VECTORS = [
    # (name, key, nonce, plaintext, aad, ciphertext, tag)
    ("13", bytes(32), bytes(12), b"", b"", b"", h("530f8afbc74536b9a963b4f1c4cb738b")),
    (
        "14",
        bytes(32),
        bytes(12),
        bytes(16),
        b"",
        h("cea7403d4d606b6e074ec5d3baf39d18"),
        h("d0d1c8a799996bf0265b98b5d48ab919"),
    ),
    (
        "15",
        GCM_KEY,
        h("cafebabefacedbaddecaf888"),
        GCM_PLAIN,
        b"",
        h(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
        ),
        h("b094dac5d93471bdec1a502270e3cc6c"),
    ),
    (
        "16 (AAD)",
        GCM_KEY,
        h("cafebabefacedbaddecaf888"),
        GCM_PLAIN[:60],
        GCM_AAD,
        h(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
        ),
        h("76fc6ece0f4e1768cddf8853bb2d551b"),
    ),
    (
        "17 (AAD, 8-byte IV)",
        GCM_KEY,
        h("cafebabefacedbad"),
        GCM_PLAIN[:60],
        GCM_AAD,
        h(
            "c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0"
            "feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f"
        ),
        h("3a337dbf46a792c45e454913fe2ea8f2"),
    ),
    (
        "18 (AAD, 60-byte IV)",
        GCM_KEY,
        h(
            "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728"
            "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b"
        ),
        GCM_PLAIN[:60],
        GCM_AAD,
        h(
            "5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf4"
            "0fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f"
        ),
        h("a44a8266ee1c8eb0c8b5d4cf5ae9f19a"),
    ),
]


@pytest.mark.parametrize(("name", "key", "nonce", "plain", "aad", "cipher", "tag"), GCM_VECTORS)
def test_gcm_known_answers(
    name: str, key: bytes, nonce: bytes, plain: bytes, aad: bytes, cipher: bytes, tag: bytes
) -> None:
    assert aes_gcm_encrypt(key, nonce, plain, aad) == cipher + tag
    assert aes_gcm_decrypt(key, nonce, cipher + tag, aad) == plain


GCM_ALTERATIONS = {
    # name: (key, nonce, sealed, aad) -> the arguments of a decryption that must fail
    "ciphertext bit": lambda k, n, s, a: (k, n, bytes([s[0] ^ 1]) + s[1:], a),
    "tag bit": lambda k, n, s, a: (k, n, s[:-1] + bytes([s[-1] ^ 0x80]), a),
    "truncated tag": lambda k, n, s, a: (k, n, s[:-1], a),
    "shorter than a tag": lambda k, n, s, a: (k, n, s[:15], a),
    "appended byte": lambda k, n, s, a: (k, n, s + b"\0", a),
    "aad": lambda k, n, s, a: (k, n, s, a.upper()),
    "missing aad": lambda k, n, s, a: (k, n, s, b""),
    "nonce": lambda k, n, s, a: (k, bytes(12), s, a),
    "wrong key": lambda k, n, s, a: (bytes(32), n, s, a),
}


@pytest.mark.parametrize("alteration", GCM_ALTERATIONS)
def test_gcm_rejects_tampering_and_wrong_keys(alteration: str) -> None:
    key, nonce, plain, aad = os.urandom(32), os.urandom(12), b"the stored admin config" * 10, b"header"
    sealed = aes_gcm_encrypt(key, nonce, plain, aad)
    assert len(sealed) == len(plain) + 16
    assert aes_gcm_decrypt(key, nonce, sealed, aad) == plain
    with pytest.raises(CryptoError):
        aes_gcm_decrypt(*GCM_ALTERATIONS[alteration](key, nonce, sealed, aad))


def test_gcm_empty_plaintext_and_empty_aad() -> None:
    key, nonce = os.urandom(32), os.urandom(12)
    for aad in (b"", b"only authenticated"):
        sealed = aes_gcm_encrypt(key, nonce, b"", aad)
        assert len(sealed) == 16
        assert aes_gcm_decrypt(key, nonce, sealed, aad) == b""
        with pytest.raises(CryptoError):
            aes_gcm_decrypt(key, nonce, sealed, aad + b"x")


def test_a_backup_written_with_the_cryptography_package_still_decrypts() -> None:
    # encrypt_backup's format as produced by cryptography's AESGCM before this module replaced it
    # (scrypt log2 N lowered to 10 to keep the test fast; the header records it).
    blob = h(
        "4d54564201010a0801000102030405060708090a0b0c0d0e0f6465666768696a6b6c6d6e6f4ffbcc7b4390cc0f"
        "396d8ae18fe4ccfb222db751676f08a344ab445d371018d0270b16632b43f0aa676b1379477effee2d05a331e8"
        "df04e4"
    )
    assert decrypt_backup(blob, "旧备份 legacy") == b'{"adminConfig": null, "users": {}}'


# -- AES-CBC: NIST SP 800-38A F.2.1 (AES-128) and F.2.5 (AES-256), four blocks, no padding -------------

CBC_IV = h("000102030405060708090a0b0c0d0e0f")
CBC_PLAIN = h(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
)
CBC_VECTORS = [
    (
        "F.2.5 CBC-AES256",
        h("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"),
        h(
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
            "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"
        ),
    ),
    (
        "F.2.1 CBC-AES128",
        h("2b7e151628aed2a6abf7158809cf4f3c"),
        h(
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
            "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"
        ),
    ),
]


@pytest.mark.parametrize(("name", "key", "cipher"), CBC_VECTORS)
def test_cbc_known_answers(name: str, key: bytes, cipher: bytes) -> None:
    # raw blocks both ways
    assert aes_cbc_encrypt(key, CBC_IV, CBC_PLAIN, padding=False) == cipher
    assert aes_cbc_decrypt(key, CBC_IV, cipher, padding=False) == CBC_PLAIN
    # PKCS#7: the same four blocks, then one block that is all padding
    padded = aes_cbc_encrypt(key, CBC_IV, CBC_PLAIN)
    assert len(padded) == 80 and padded[:64] == cipher
    assert aes_cbc_decrypt(key, CBC_IV, cipher + padded[64:], padding=False)[64:] == bytes([16]) * 16
    assert aes_cbc_decrypt(key, CBC_IV, padded) == CBC_PLAIN
    # a prefix of whole blocks decrypts on its own (what the HLS segment probe relies on)
    assert aes_cbc_decrypt(key, CBC_IV, cipher[:32], padding=False) == CBC_PLAIN[:32]


def _openssl_cbc(args: list[str], key: bytes, iv: bytes, data: bytes) -> bytes:
    assert OPENSSL is not None
    cipher = f"-aes-{len(key) * 8}-cbc"
    command = [OPENSSL, "enc", *args, cipher, "-K", key.hex(), "-iv", iv.hex()]
    return subprocess.run(command, input=data, capture_output=True, check=True).stdout


@needs_openssl
@pytest.mark.parametrize("key_len", [16, 32])
def test_cbc_pkcs7_matches_the_openssl_cli_both_ways(key_len: int) -> None:
    key, iv = os.urandom(key_len), os.urandom(16)
    for size in (0, 1, 15, 16, 17, 31, 32, 33, 1000):
        plain = os.urandom(size)
        theirs = _openssl_cbc(["-e"], key, iv, plain)
        ours = aes_cbc_encrypt(key, iv, plain)
        assert ours == theirs, size
        assert len(ours) == (size // 16 + 1) * 16
        assert aes_cbc_decrypt(key, iv, theirs) == plain
        assert _openssl_cbc(["-d"], key, iv, ours) == plain


def test_cbc_bad_padding_wrong_key_and_bad_lengths() -> None:
    key, iv = bytes(32), bytes(16)
    sealed = aes_cbc_encrypt(key, iv, b"attack at dawn")
    with pytest.raises(CryptoError, match="padding"):
        aes_cbc_decrypt(bytes([1]) * 32, iv, sealed)  # wrong key: the padding does not check out
    blocks = aes_cbc_decrypt(key, iv, sealed, padding=False)
    for bad_tail in (b"\x00", b"\x11", b"\x03\x03\x02", bytes([17]) * 16):
        forged = blocks[: 16 - len(bad_tail)] + bad_tail
        with pytest.raises(CryptoError, match="padding"):
            aes_cbc_decrypt(key, iv, aes_cbc_encrypt(key, iv, forged, padding=False))
    for ciphertext in (b"", sealed[:-1], sealed + b"x"):
        with pytest.raises(CryptoError):
            aes_cbc_decrypt(key, iv, ciphertext)
    assert aes_cbc_decrypt(key, iv, b"", padding=False) == b""
    assert aes_cbc_encrypt(key, iv, b"") == aes_cbc_encrypt(key, iv, b"", padding=True)
    assert aes_cbc_decrypt(key, iv, aes_cbc_encrypt(key, iv, b"")) == b""
    assert len(aes_cbc_encrypt(key, iv, b"sixteen bytes ok", padding=False)) == 16
    with pytest.raises(ValueError, match="multiple of 16"):
        aes_cbc_encrypt(key, iv, b"fifteen bytes!!", padding=False)


# -- arguments, sizes, loading ---------------------------------------------------------------------------


def test_argument_checks_never_show_the_key() -> None:
    secret = b"\x13\x37" * 8 + b"K" * 7  # 23 bytes: no AES key length
    checks = [
        lambda: aes_gcm_encrypt(secret, bytes(12), b"x", b""),
        lambda: aes_cbc_encrypt(secret, bytes(16), b"x"),
        lambda: aes_gcm_encrypt(bytes(32), bytes(7), b"x", b""),
        lambda: aes_gcm_encrypt(bytes(32), bytes(129), b"x", b""),
        lambda: aes_cbc_decrypt(bytes(32), bytes(15), bytes(16)),
    ]
    for check in checks:
        with pytest.raises(ValueError) as caught:
            check()
        text = str(caught.value)
        assert secret.hex() not in text and repr(secret) not in text and "1337" not in text
    with pytest.raises(CryptoError) as caught:
        aes_gcm_decrypt(b"S" * 32, bytes(12), bytes(32), b"")
    assert "SSSS" not in str(caught.value) and "5353" not in str(caught.value)
    with pytest.raises(TypeError):
        aes_cbc_encrypt(bytes(32), bytes(16), 5)  # type: ignore[arg-type]


def test_bytes_like_arguments_are_accepted() -> None:
    key, iv = os.urandom(32), os.urandom(16)
    plain = os.urandom(100)
    expected = aes_cbc_encrypt(key, iv, plain)
    assert aes_cbc_encrypt(bytearray(key), memoryview(iv), bytearray(plain)) == expected
    sealed = aes_gcm_encrypt(key, iv[:12], plain, b"a")
    assert aes_gcm_decrypt(memoryview(key), bytearray(iv[:12]), memoryview(sealed), bytearray(b"a")) == plain


def test_eight_mebibytes_round_trip() -> None:
    key, nonce, iv = os.urandom(32), os.urandom(12), os.urandom(16)
    plain = os.urandom(8 * 1024 * 1024 + 5)
    sealed = aes_gcm_encrypt(key, nonce, plain, b"aad")
    assert len(sealed) == len(plain) + 16
    assert aes_gcm_decrypt(key, nonce, sealed, b"aad") == plain
    boxed = aes_cbc_encrypt(key, iv, plain)
    assert len(boxed) == (len(plain) // 16 + 1) * 16
    assert aes_cbc_decrypt(key, iv, boxed) == plain


def test_input_fed_in_chunks_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    key, nonce, iv = os.urandom(32), os.urandom(12), os.urandom(16)
    plain, aad = os.urandom(1000), os.urandom(333)
    whole_gcm = aes_gcm_encrypt(key, nonce, plain, aad)
    whole_cbc = aes_cbc_encrypt(key, iv, plain)
    monkeypatch.setattr(aes, "_CHUNK", 50)  # not a multiple of the block size
    assert aes_gcm_encrypt(key, nonce, plain, aad) == whole_gcm
    assert aes_gcm_decrypt(key, nonce, whole_gcm, aad) == plain
    assert aes_cbc_encrypt(key, iv, plain) == whole_cbc
    assert aes_cbc_decrypt(key, iv, whole_cbc) == plain


def test_oversized_input_is_refused_before_openssl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aes, "MAX_INPUT", 64)
    with pytest.raises(ValueError, match="too large"):
        aes_gcm_encrypt(bytes(32), bytes(12), bytes(65), b"")
    with pytest.raises(ValueError, match="too large"):
        aes_gcm_encrypt(bytes(32), bytes(12), b"", bytes(65))
    with pytest.raises(ValueError, match="too large"):
        aes_cbc_decrypt(bytes(32), bytes(16), bytes(80))
    assert aes_cbc_encrypt(bytes(32), bytes(16), bytes(64), padding=False)


def test_failures_leave_no_openssl_error_behind() -> None:
    with pytest.raises(CryptoError):
        aes_cbc_decrypt(bytes(32), bytes(16), bytes(32))  # decrypts to garbage padding
    with pytest.raises(CryptoError):
        aes_gcm_decrypt(bytes(32), bytes(12), bytes(40), b"")
    lib = ctypes.CDLL(_loaded_path())
    lib.ERR_peek_error.restype = ctypes.c_ulong
    lib.ERR_peek_error.argtypes = []
    assert lib.ERR_peek_error() == 0


def _mapped_libcrypto() -> list[str]:
    """The libcrypto.so* files this process has mapped (read here, in the test, not by the module)."""
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        paths = [line.split(maxsplit=5)[5].strip() for line in maps if len(line.split(maxsplit=5)) == 6]
    return [p for p in dict.fromkeys(paths) if os.path.basename(p).startswith("libcrypto.so")]


def _loaded_path() -> str:
    aes_gcm_encrypt(bytes(32), bytes(12), b"", b"")  # make sure the library is loaded
    return next(aes._candidates())


def test_libcrypto_is_the_one_python_already_mapped() -> None:
    import _hashlib

    before = _mapped_libcrypto()
    assert before, "Python has no libcrypto mapped"
    assert _loaded_path() == _hashlib.__file__
    handle = ctypes.CDLL(_loaded_path())
    address = ctypes.cast(handle.EVP_CIPHER_CTX_new, ctypes.c_void_p).value
    with open("/proc/self/maps", encoding="utf-8") as maps:
        owner = next(
            line.split(maxsplit=5)[5].strip()
            for line in maps
            if int(line.split("-")[0], 16) <= address < int(line.split("-")[1].split()[0], 16)
        )
    assert owner in before and _mapped_libcrypto() == before  # no second libcrypto was loaded


def test_fallbacks_when_python_has_no_openssl_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aes, "_lib", None)
    monkeypatch.setattr(aes, "_python_crypto_modules", list)
    assert list(aes._candidates())[-1] == "libcrypto.so.3"
    assert aes_cbc_decrypt(CBC_VECTORS[0][1], CBC_IV, CBC_VECTORS[0][2], padding=False) == CBC_PLAIN


def test_no_library_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aes, "_lib", None)
    monkeypatch.setattr(aes, "_candidates", lambda: iter(["/nonexistent/libcrypto.so.3"]))
    with pytest.raises(RuntimeError, match="libcrypto"):
        aes_gcm_encrypt(bytes(32), bytes(12), b"x", b"")


def test_importing_the_module_loads_nothing() -> None:
    code = (
        "import sys, moontv.aes as m\n"
        "assert 'ctypes' not in sys.modules and m._lib is None, sorted(sys.modules)\n"
        "m.aes_gcm_encrypt(bytes(32), bytes(12), b'', b'')\n"
        "assert m._lib is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
