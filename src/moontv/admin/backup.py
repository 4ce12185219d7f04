"""Encrypted backups of everything, and import of MoonTV/LunaTV ``.dat`` migration files.

Our format (binary)::

    b"MTVB" | format version (1) | KDF id (1 = scrypt) | log2(N) | r | p | salt (16) | nonce (12)
    | AES-256-GCM(key = scrypt(passphrase, salt), aad = the header above)(zlib(JSON))

The JSON holds the stored admin config and, per user, the password hash, play records,
favorites, search history (newest first), skip configs and last-online time.

MoonTV/LunaTV format: ``CryptoJS.AES.encrypt(base64(zlib(JSON)), passphrase)`` — OpenSSL
``Salted__`` + 8-byte salt, key and IV from EVP_BytesToKey(MD5), AES-256-CBC, PKCS#7, the
whole thing Base64 text.

Import parses and validates the whole file into memory first; only then is storage cleared and
rewritten. If a write fails half-way, the data taken just before is written back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import os
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from moontv import __version__
from moontv.admin import AdminError
from moontv.aes import CryptoError, aes_cbc_decrypt, aes_cbc_encrypt, aes_gcm_decrypt, aes_gcm_encrypt
from moontv.auth.passwords import hash_password
from moontv.config.admin import merge
from moontv.settings import Settings
from moontv.storage.protocol import SEARCH_HISTORY_LIMIT, Storage
from moontv.userdata.models import MAX_SAFE_INTEGER, Favorite, PlayRecord, SkipConfig, record_key

log = logging.getLogger("moontv.admin.backup")

MAGIC = b"MTVB"
FORMAT_VERSION = 1
KDF_SCRYPT = 1
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
HEADER = struct.Struct(">4sBBBBB16s12s")
# Decompressed size: a JSON backup deflates about 5-15x; anything far beyond is a bomb. The cap
# is relative to the compressed size (with a floor for small backups) and absolute, which
# also bounds the memory the JSON parse needs.
INFLATE_RATIO = 40
MIN_PLAINTEXT = 16 * 1024 * 1024
MAX_PLAINTEXT = 256 * 1024 * 1024
INFLATE_CHUNK = 1024 * 1024
# scrypt parameters a header may ask for: ours are 2^15/8/1; memory 128*r*N stays <= 128 MiB.
SCRYPT_LOG2_N_RANGE = range(
    10, 18
)  # the ceiling bounds the work; 10 is the floor older backups used in tests
SCRYPT_R_RANGE = range(1, 9)
SCRYPT_P_RANGE = range(1, 3)
MAX_USERS = 100_000
MAX_ITEMS_PER_USER = 100_000
MAX_EPOCH_BUMPS = 10_000
LUNATV_PREFIX = "U2FsdGVkX1"  # base64 of "Salted__"

DECRYPT_FAILED = "解密失败，请检查密码是否正确"
BAD_FORMAT = "备份文件格式错误"
INVALID = "备份文件格式无效"


# -- crypto --------------------------------------------------------------------------------------


def _scrypt(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if log2_n not in SCRYPT_LOG2_N_RANGE or r not in SCRYPT_R_RANGE or p not in SCRYPT_P_RANGE:
        raise AdminError(400, INVALID)
    n = 1 << log2_n
    try:
        return hashlib.scrypt(
            passphrase.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=256 * 1024 * 1024
        )
    except (ValueError, MemoryError):
        raise AdminError(400, INVALID) from None


def encrypt_backup(payload: bytes, passphrase: str) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    header = HEADER.pack(MAGIC, FORMAT_VERSION, KDF_SCRYPT, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, nonce)
    key = _scrypt(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
    return header + aes_gcm_encrypt(key, nonce, zlib.compress(payload, 6), header)


def plaintext_cap(compressed_size: int) -> int:
    return min(MAX_PLAINTEXT, max(MIN_PLAINTEXT, compressed_size * INFLATE_RATIO))


def _inflate(data: bytes) -> bytes:
    """Decompress chunk by chunk, stopping as soon as the output passes the cap."""
    cap = plaintext_cap(len(data))
    inflater = zlib.decompressobj()
    out = bytearray()
    pending = data
    try:
        while pending and not inflater.eof:
            out += inflater.decompress(pending, INFLATE_CHUNK)
            if len(out) > cap:
                raise AdminError(400, "备份文件解压后过大")
            pending = inflater.unconsumed_tail
        if not inflater.eof:
            out += inflater.flush(INFLATE_CHUNK)
    except zlib.error:
        raise AdminError(400, BAD_FORMAT) from None
    if not inflater.eof or len(out) > cap:
        raise AdminError(400, BAD_FORMAT)
    return bytes(out)


def decrypt_backup(blob: bytes, passphrase: str) -> bytes:
    if len(blob) < HEADER.size + 16:
        raise AdminError(400, BAD_FORMAT)
    magic, version, kdf, log2_n, r, p, salt, nonce = HEADER.unpack_from(blob)
    if magic != MAGIC or version != FORMAT_VERSION or kdf != KDF_SCRYPT:
        raise AdminError(400, "不支持的备份文件版本")
    key = _scrypt(passphrase, salt, log2_n, r, p)
    try:
        compressed = aes_gcm_decrypt(key, nonce, blob[HEADER.size :], blob[: HEADER.size])
    except CryptoError:
        raise AdminError(400, DECRYPT_FAILED) from None
    return _inflate(compressed)


def evp_bytes_to_key(
    passphrase: bytes, salt: bytes, key_len: int = 32, iv_len: int = 16
) -> tuple[bytes, bytes]:
    """OpenSSL's EVP_BytesToKey with MD5 and one iteration (what CryptoJS uses for passphrases)."""
    derived, block = b"", b""
    while len(derived) < key_len + iv_len:
        block = hashlib.md5(block + passphrase + salt).digest()
        derived += block
    return derived[:key_len], derived[key_len : key_len + iv_len]


def cryptojs_decrypt(text: str, passphrase: str) -> bytes:
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise AdminError(400, BAD_FORMAT) from None
    if len(raw) < 32 or raw[:8] != b"Salted__" or (len(raw) - 16) % 16:
        raise AdminError(400, BAD_FORMAT)
    key, iv = evp_bytes_to_key(passphrase.encode(), raw[8:16])
    try:
        return aes_cbc_decrypt(key, iv, raw[16:])
    except CryptoError:
        raise AdminError(400, DECRYPT_FAILED) from None


def cryptojs_encrypt(plaintext: bytes, passphrase: str, salt: bytes | None = None) -> str:
    """The inverse of :func:`cryptojs_decrypt` (used to write LunaTV-compatible files)."""
    salt = salt or os.urandom(8)
    key, iv = evp_bytes_to_key(passphrase.encode(), salt)
    body = aes_cbc_encrypt(key, iv, plaintext)
    return base64.b64encode(b"Salted__" + salt + body).decode()


def decode_lunatv(blob: bytes, passphrase: str) -> Any:
    try:
        text = blob.decode("ascii")
    except UnicodeDecodeError:
        raise AdminError(400, BAD_FORMAT) from None
    inner = cryptojs_decrypt(text, passphrase)
    try:
        compressed = base64.b64decode(inner.decode("ascii"), validate=True)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        raise AdminError(400, DECRYPT_FAILED) from None
    return _json(_inflate(compressed))


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise AdminError(400, BAD_FORMAT) from None


# -- the validated in-memory form -------------------------------------------------------------


@dataclass(slots=True)
class UserData:
    password: str | None = None  # a stored hash (ours) or a legacy value; None = no credential
    password_is_plain: bool = False
    play_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    favorites: dict[str, dict[str, Any]] = field(default_factory=dict)
    search_history: list[str] = field(default_factory=list)  # newest first
    skip_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_online: int | None = None


@dataclass(slots=True)
class Snapshot:
    admin_config: dict[str, Any] | None
    users: dict[str, UserData]
    timestamp: str = ""
    server_version: str = ""
    source_format: str = "moontv"


def _fail(where: str) -> AdminError:
    return AdminError(400, f"{INVALID}: {where}")


def _username(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > 64 or any(ord(c) < 32 for c in name):
        raise _fail("用户名无效")
    return name


def _key(key: Any, where: str) -> str:
    try:
        return record_key(key)
    except ValueError:
        raise _fail(where) from None


def _entries(
    raw: Any, model: type[PlayRecord | Favorite | SkipConfig], where: str
) -> dict[str, dict[str, Any]]:
    """Every entry validated by the model the API uses; the first bad one refuses the whole file."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_ITEMS_PER_USER:
        raise _fail(where)
    out = {}
    for key, value in raw.items():
        _key(key, f"{where} 的键 {str(key)[:40]}")
        if not isinstance(value, dict):
            raise _fail(f"{where}[{key}]")
        try:
            entry = model.model_validate(value)
        except ValidationError as exc:
            field_name = ".".join(str(part) for part in exc.errors()[0]["loc"])
            raise _fail(f"{where}[{key}].{field_name}" if field_name else f"{where}[{key}]") from None
        out[key] = entry.stored()
    return out


def _last_online(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SAFE_INTEGER:
        raise _fail(where)
    return int(value)


def _history(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        raise _fail(where)
    seen: dict[str, None] = {}
    for keyword in raw:
        if keyword.strip():
            seen.setdefault(keyword, None)
    return list(seen)[:SEARCH_HISTORY_LIMIT]


def _admin_config(raw: Any, settings: Settings) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail("adminConfig")
    for name, kind in (
        ("SiteConfig", dict),
        ("UserConfig", dict),
        ("SourceConfig", list),
        ("CustomCategories", list),
    ):
        if name in raw and raw[name] is not None and not isinstance(raw[name], kind):
            raise _fail(f"adminConfig.{name}")
    if "ConfigFile" in raw and raw["ConfigFile"] is not None and not isinstance(raw["ConfigFile"], str):
        raise _fail("adminConfig.ConfigFile")
    try:
        merge(raw, settings)
    except Exception:
        raise _fail("adminConfig") from None
    return raw


def _users_common(raw: Any, label: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or len(raw) > MAX_USERS:
        raise _fail(label)
    return raw


def parse_moontv(data: Any, settings: Settings) -> Snapshot:
    if (
        not isinstance(data, dict)
        or data.get("format") != "moontv-backup"
        or not isinstance(data.get("data"), dict)
    ):
        raise AdminError(400, BAD_FORMAT)
    body = data["data"]
    config = body.get("adminConfig")
    users: dict[str, UserData] = {}
    for name, raw in _users_common(body.get("users"), "users").items():
        _username(name)
        if not isinstance(raw, dict):
            raise _fail(f"users[{name}]")
        password = raw.get("password")
        if password is not None and (not isinstance(password, str) or len(password) > 1024):
            raise _fail(f"users[{name}].password")
        users[name] = UserData(
            password=password or None,
            play_records=_entries(raw.get("playRecords"), PlayRecord, f"{name}.playRecords"),
            favorites=_entries(raw.get("favorites"), Favorite, f"{name}.favorites"),
            search_history=_history(raw.get("searchHistory"), f"{name}.searchHistory"),
            skip_configs=_entries(raw.get("skipConfigs"), SkipConfig, f"{name}.skipConfigs"),
            last_online=_last_online(raw.get("lastOnline"), f"{name}.lastOnline"),
        )
    return Snapshot(
        _admin_config(config, settings) if config is not None else None,
        users,
        str(data.get("timestamp") or ""),
        str(data.get("serverVersion") or ""),
        "moontv",
    )


def parse_lunatv(data: Any, settings: Settings) -> Snapshot:
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise AdminError(400, BAD_FORMAT)
    body = data["data"]
    if "adminConfig" not in body or "userData" not in body:
        raise AdminError(400, INVALID)
    users: dict[str, UserData] = {}
    for name, raw in _users_common(body["userData"], "userData").items():
        _username(name)
        if not isinstance(raw, dict):
            raise _fail(f"userData[{name}]")
        password = raw.get("password")
        if password is not None and (not isinstance(password, str | int) or isinstance(password, bool)):
            raise _fail(f"userData[{name}].password")
        password = str(password) if password not in (None, "") else None
        users[name] = UserData(
            password=password,
            password_is_plain=password is not None,
            play_records=_entries(raw.get("playRecords"), PlayRecord, f"{name}.playRecords"),
            favorites=_entries(raw.get("favorites"), Favorite, f"{name}.favorites"),
            search_history=_history(raw.get("searchHistory"), f"{name}.searchHistory"),
            skip_configs=_entries(raw.get("skipConfigs"), SkipConfig, f"{name}.skipConfigs"),
        )
    return Snapshot(
        _admin_config(body["adminConfig"], settings),
        users,
        str(data.get("timestamp") or ""),
        str(data.get("serverVersion") or ""),
        "lunatv",
    )


def read_backup(blob: bytes, passphrase: str, settings: Settings) -> Snapshot:
    """Decrypt, decompress, parse and validate a backup of either format (nothing is written)."""
    if not passphrase:
        raise AdminError(400, "请提供解密密码")
    if blob.startswith(MAGIC):
        return parse_moontv(_json(decrypt_backup(blob, passphrase)), settings)
    if blob.lstrip()[: len(LUNATV_PREFIX)] == LUNATV_PREFIX.encode():
        return parse_lunatv(decode_lunatv(blob, passphrase), settings)
    raise AdminError(400, BAD_FORMAT)


# -- storage side --------------------------------------------------------------------------------


async def _known_users(storage: Storage, settings: Settings, config: dict[str, Any] | None) -> list[str]:
    names = dict.fromkeys(await storage.list_users())
    if settings.username:
        names.setdefault(settings.username, None)
    if config and isinstance(config.get("UserConfig"), dict):
        for user in config["UserConfig"].get("Users") or []:
            if isinstance(user, dict) and isinstance(user.get("username"), str) and user["username"]:
                names.setdefault(user["username"], None)
    return list(names)


async def take_snapshot(storage: Storage, settings: Settings) -> Snapshot:
    config, _ = await storage.get_admin_config()
    online = await storage.get_last_online()
    users = {}
    for name in await _known_users(storage, settings, config):
        users[name] = UserData(
            password=await storage.get_password_hash(name),
            play_records=await storage.get_all_play_records(name),
            favorites=await storage.get_all_favorites(name),
            search_history=await storage.get_search_history(name),
            skip_configs=await storage.get_all_skip_configs(name),
            last_online=online.get(name),
        )
    return Snapshot(config, users, datetime.now(UTC).isoformat(), __version__, "moontv")


def snapshot_json(snapshot: Snapshot, storage_kind: str) -> bytes:
    users = {
        name: {
            "password": data.password,
            "playRecords": data.play_records,
            "favorites": data.favorites,
            "searchHistory": data.search_history,
            "skipConfigs": data.skip_configs,
            "lastOnline": data.last_online,
        }
        for name, data in snapshot.users.items()
    }
    return orjson.dumps(
        {
            "format": "moontv-backup",
            "formatVersion": FORMAT_VERSION,
            "timestamp": snapshot.timestamp,
            "serverVersion": snapshot.server_version,
            "storage": storage_kind,
            "data": {"adminConfig": snapshot.admin_config, "users": users},
        }
    )


async def export_backup(storage: Storage, settings: Settings, passphrase: str) -> bytes:
    if not passphrase:
        raise AdminError(400, "请提供加密密码")
    snapshot = await take_snapshot(storage, settings)
    payload = snapshot_json(snapshot, storage.kind)
    return await asyncio.to_thread(encrypt_backup, payload, passphrase)


async def _hash_plain_passwords(snapshot: Snapshot, owner: str) -> None:
    for name, data in snapshot.users.items():
        if name == owner:
            data.password = None  # the owner signs in with the environment's password
        elif data.password is not None and data.password_is_plain and not _looks_hashed(data.password):
            data.password = await asyncio.to_thread(hash_password, data.password)
            data.password_is_plain = False


def _looks_hashed(value: str) -> bool:
    if value.startswith("$argon2"):
        return True
    salt, sep, digest = value.partition(":")
    return bool(sep) and len(digest) == 128 and all(c in "0123456789abcdef" for c in salt + digest)


async def _write(storage: Storage, settings: Settings, snapshot: Snapshot) -> None:
    await storage.clear_all_data()
    if snapshot.admin_config is not None:
        await storage.set_admin_config(merge(snapshot.admin_config, settings))
    for name, data in snapshot.users.items():
        if data.password:
            await storage.set_password_hash(name, data.password)
        for key, record in data.play_records.items():
            await storage.set_play_record(name, key, record)
        for key, favorite in data.favorites.items():
            await storage.set_favorite(name, key, favorite)
        for keyword in reversed(data.search_history):  # replayed oldest first: order is kept
            await storage.add_search_history(name, keyword)
        for key, skip in data.skip_configs.items():
            await storage.set_skip_config(name, key, skip)
        if data.last_online is not None:
            await storage.set_last_online(name, data.last_online)


async def _raise_epochs(storage: Storage, floors: dict[str, int]) -> None:
    """Every pre-import session stays invalid: epochs end above what they were before."""
    for name, floor in floors.items():
        for _ in range(min(floor + 1, MAX_EPOCH_BUMPS)):
            if await storage.bump_session_epoch(name) > floor:
                break


async def restore(storage: Storage, settings: Settings, snapshot: Snapshot) -> int:
    """Replace every stored thing with ``snapshot`` (validated beforehand); returns the user count."""
    await _hash_plain_passwords(snapshot, settings.username)
    before = await take_snapshot(storage, settings)
    names = set(before.users) | set(snapshot.users)
    floors = {name: await storage.get_session_epoch(name) for name in names}
    try:
        await _write(storage, settings, snapshot)
    except Exception:
        log.exception("backup import failed while writing; putting the previous data back")
        try:
            await _write(storage, settings, before)
        finally:
            await _raise_epochs(storage, floors)
        raise AdminError(500, "导入失败，已恢复导入前的数据") from None
    await _raise_epochs(storage, floors)
    return len(snapshot.users)
