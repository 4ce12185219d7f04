"""Backups: our encrypted format round trip, MoonTV/LunaTV ``.dat`` import, nothing written for bad files."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import zlib

import httpx
import pytest

from moontv.admin import AdminError
from moontv.admin.backup import (
    cryptojs_decrypt,
    cryptojs_encrypt,
    decrypt_backup,
    encrypt_backup,
    evp_bytes_to_key,
)

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")


# -- crypto, checked against the openssl command line (independent implementation) ----------------------


@needs_openssl
def test_lunatv_cipher_matches_openssl_both_ways() -> None:
    secret = b"base64 text of a zlib stream \xe4\xb8\xad" * 5
    produced = subprocess.run(
        [OPENSSL, "enc", "-aes-256-cbc", "-md", "md5", "-a", "-A", "-salt", "-pass", "pass:口令 pass"],
        input=secret,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert produced.startswith("U2FsdGVkX1")
    assert cryptojs_decrypt(produced, "口令 pass") == secret
    ours = cryptojs_encrypt(secret, "口令 pass")
    back = subprocess.run(
        [OPENSSL, "enc", "-d", "-aes-256-cbc", "-md", "md5", "-a", "-A", "-pass", "pass:口令 pass"],
        input=ours.encode(),
        capture_output=True,
        check=True,
    ).stdout
    assert back == secret


@needs_openssl
def test_evp_bytes_to_key_matches_openssl() -> None:
    salt = bytes.fromhex("0102030405060708")
    shown = subprocess.run(
        [OPENSSL, "enc", "-aes-256-cbc", "-md", "md5", "-S", salt.hex(), "-pass", "pass:pw", "-P"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    values = {}
    for line in shown.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()[:64]
    key, iv = evp_bytes_to_key(b"pw", salt)
    assert key.hex().upper() == values["key"]
    assert values["iv"].startswith(iv.hex().upper())


def test_own_format_rejects_tampering_and_wrong_passphrase() -> None:
    blob = encrypt_backup(b'{"x": 1}', "right")
    assert decrypt_backup(blob, "right") == b'{"x": 1}'
    with pytest.raises(AdminError) as wrong:
        decrypt_backup(blob, "wrong")
    assert wrong.value.message == "解密失败，请检查密码是否正确"
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(AdminError):
        decrypt_backup(bytes(tampered), "right")
    header_flip = bytearray(blob)
    header_flip[8] = 30  # an absurd scrypt cost in the header is refused before any work
    with pytest.raises(AdminError):
        decrypt_backup(bytes(header_flip), "right")


# -- helpers ----------------------------------------------------------------------------------------------


async def seed(app, owner: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    for name in ("alice", "bob"):
        r = await owner.post(
            "/api/admin/user", json={"action": "add", "targetUsername": name, "targetPassword": f"{name}-pw"}
        )
        assert r.status_code == 200
    await owner.post("/api/admin/user", json={"action": "ban", "targetUsername": "bob"})
    await owner.post(
        "/api/admin/source",
        json={"action": "add", "key": "mine", "name": "Mine", "api": "https://m.example/api"},
    )
    await owner.post("/api/admin/group", json={"action": "create", "name": "g", "sourceKeys": ["mine"]})
    alice = await app.login("alice", "alice-pw")
    for i in range(3):
        record = {
            "title": f"剧{i}",
            "source_name": "S",
            "index": i + 1,
            "total_episodes": 10,
            "play_time": 60 * i,
            "total_time": 3000,
            "save_time": 1700000000000 + i,
            "year": "2024",
            "cover": "https://c/x.jpg",
        }
        assert (
            await alice.post("/api/playrecords", json={"key": f"mine+{i}", "record": record})
        ).status_code == 200
    await alice.post(
        "/api/favorites",
        json={"key": "mine+9", "favorite": {"title": "收藏", "source_name": "S", "total_episodes": 3}},
    )
    for word in ("一", "二", "三"):
        await alice.post("/api/searchhistory", json={"keyword": word})
    await alice.post(
        "/api/skipconfigs",
        json={"key": "mine+1", "config": {"enable": True, "intro_time": 85, "outro_time": -30}},
    )
    await alice.post("/api/user/online")
    await owner.post(
        "/api/playrecords",
        json={"key": "mine+5", "record": {"title": "站长的", "source_name": "S", "index": 2}},
    )


async def everything(app) -> dict:  # type: ignore[no-untyped-def]
    storage = app.state.storage

    async def collect() -> dict:
        config, _ = await storage.get_admin_config()
        names = sorted(set(await storage.list_users()) | {"admin"})
        out = {"config": config, "users": {}}
        for name in names:
            out["users"][name] = {
                "pwd": await storage.get_password_hash(name),
                "pr": await storage.get_all_play_records(name),
                "fav": await storage.get_all_favorites(name),
                "sh": await storage.get_search_history(name),
                "skip": await storage.get_all_skip_configs(name),
            }
        out["online"] = await storage.get_last_online()
        return out

    return await collect()


async def import_file(client: httpx.AsyncClient, blob: bytes, password: str) -> httpx.Response:
    return await client.post(
        "/api/admin/data_migration/import", files={"file": ("backup.dat", blob)}, data={"password": password}
    )


# -- round trip ---------------------------------------------------------------------------------------------


async def test_export_import_round_trip_is_lossless(inprocess_app) -> None:
    app = await inprocess_app({"file1": "https://cms.example/api"}, refresh_interval=0)
    owner = await app.login()
    await seed(app, owner)
    before = await everything(app)
    exported = await owner.post("/api/admin/data_migration/export", json={"password": "备份口令"})
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/octet-stream"
    assert exported.headers["content-disposition"].startswith('attachment; filename="moontv-backup-')
    blob = exported.content
    assert blob.startswith(b"MTVB") and b"alice" not in blob  # encrypted

    # change everything, then restore
    alice = await app.login("alice", "alice-pw")
    await alice.delete("/api/playrecords")
    await owner.post("/api/admin/user", json={"action": "deleteUser", "targetUsername": "bob"})
    await owner.post("/api/admin/source", json={"action": "delete", "key": "mine"})
    await owner.post(
        "/api/admin/user", json={"action": "add", "targetUsername": "intruder", "targetPassword": "x"}
    )

    result = await import_file(owner, blob, "备份口令")
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["message"] == "数据导入成功" and body["importedUsers"] == 3 and body["format"] == "moontv"
    after = await everything(app)
    assert after["users"] == before["users"]
    assert after["online"] == before["online"]
    assert after["config"] == before["config"]
    assert "intruder" not in after["users"]
    # sessions from before the import are gone; the importing owner keeps working with the new cookie
    assert (await alice.get("/api/playrecords")).status_code == 401
    assert (await owner.get("/api/admin/config")).status_code == 200
    assert (await (await app.login("alice", "alice-pw")).get("/api/searchhistory")).json() == [
        "三",
        "二",
        "一",
    ]
    c = await app.client()
    assert (await c.post("/api/login", json={"username": "bob", "password": "bob-pw"})).json()[
        "error"
    ] == "用户被封禁"


async def test_bad_files_change_nothing(inprocess_app) -> None:
    app = await inprocess_app({"file1": "https://cms.example/api"}, refresh_interval=0)
    owner = await app.login()
    await seed(app, owner)
    good = (await owner.post("/api/admin/data_migration/export", json={"password": "pw"})).content
    before = await everything(app)

    def lunatv(data: object, password: str = "pw", raw: bytes | None = None) -> bytes:
        inner = raw if raw is not None else zlib.compress(json.dumps(data).encode())
        return cryptojs_encrypt(base64.b64encode(inner), password).encode()

    bad_inner = encrypt_backup(
        json.dumps(
            {"format": "moontv-backup", "data": {"users": {"x": {"playRecords": {"nokey": {}}}}}}
        ).encode(),
        "pw",
    )
    cases = [
        (good, "wrong", "解密失败，请检查密码是否正确"),
        (good[:-5], "pw", None),
        (b"garbage" * 10, "pw", "备份文件格式错误"),
        (b"", "pw", None),
        (bad_inner, "pw", None),
        (lunatv({"data": {"adminConfig": {}}}), "pw", "备份文件格式无效"),
        (lunatv({"data": {"adminConfig": {}, "userData": {"u": {"playRecords": [1]}}}}), "pw", None),
        (lunatv({"data": {"adminConfig": {"SourceConfig": "x"}, "userData": {}}}), "pw", None),
        (lunatv({}, raw=b"not zlib"), "pw", "备份文件格式错误"),
        (lunatv({"data": {"adminConfig": {}, "userData": {}}}), "other", None),
    ]
    for blob, password, message in cases:
        response = await import_file(owner, blob, password)
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        if message:
            assert response.json()["error"].startswith(message), response.text
    assert (await import_file(owner, good, "")).json()["error"] == "请提供解密密码"
    assert (await owner.post("/api/admin/data_migration/import", data={"password": "pw"})).json()[
        "error"
    ] == "请选择备份文件"
    assert (await owner.post("/api/admin/data_migration/export", json={})).json()["error"] == "请提供加密密码"
    assert await everything(app) == before
    assert (await (await app.login("alice", "alice-pw")).get("/api/playrecords")).status_code == 200


async def test_only_the_owner_exports_and_imports(inprocess_app) -> None:
    app = await inprocess_app(None, refresh_interval=0)
    owner = await app.login()
    await owner.post(
        "/api/admin/user", json={"action": "add", "targetUsername": "adm", "targetPassword": "pw"}
    )
    await owner.post("/api/admin/user", json={"action": "setAdmin", "targetUsername": "adm"})
    adm = await app.login("adm", "pw")
    refused = await adm.post("/api/admin/data_migration/export", json={"password": "x"})
    assert refused.status_code == 403 and refused.json()["error"] == "权限不足，只有站长可以导出数据"
    assert (await import_file(adm, b"x", "x")).status_code == 403


# -- LunaTV / MoonTV migration file ---------------------------------------------------------------


LUNATV_DATA = {
    "timestamp": "2025-06-01T08:00:00.000Z",
    "serverVersion": "3.8.2",
    "data": {
        "adminConfig": {
            "ConfigFile": json.dumps(
                {
                    "cache_time": 7200,
                    "api_site": {"lz": {"api": "https://lz.example/api.php/provide/vod", "name": "量子"}},
                }
            ),
            "SiteConfig": {
                "SiteName": "旧站",
                "Announcement": "a",
                "SearchDownstreamMaxPage": 5,
                "SiteInterfaceCacheTime": 7200,
                "DoubanProxyType": "direct",
                "DoubanProxy": "",
                "DoubanImageProxyType": "direct",
                "DoubanImageProxy": "",
                "DisableYellowFilter": False,
            },
            "UserConfig": {
                "AllowRegister": True,
                "Users": [
                    {"username": "oldowner", "role": "owner"},
                    {"username": "lily", "role": "admin", "lastOnline": 1717000000000},
                    {"username": "tom", "role": "user", "banned": True, "group": "kids"},
                ],
                "Groups": [{"name": "kids", "sourceKeys": ["lz"]}],
            },
            "SourceConfig": [
                {
                    "key": "lz",
                    "name": "量子",
                    "api": "https://lz.example/api.php/provide/vod",
                    "from": "config",
                    "disabled": False,
                },
                {
                    "key": "own",
                    "name": "自建",
                    "api": "https://own.example/api",
                    "from": "custom",
                    "disabled": True,
                },
            ],
            "CustomCategories": [{"name": "日剧", "type": "tv", "query": "日剧", "from": "custom"}],
        },
        "userData": {
            "oldowner": {
                "playRecords": {},
                "favorites": {},
                "searchHistory": [],
                "skipConfigs": {},
                "password": "owner-env-pw",
            },
            "lily": {
                "playRecords": {
                    "lz+123": {
                        "title": "长夜",
                        "source_name": "量子",
                        "cover": "https://c/1.jpg",
                        "year": "2024",
                        "index": 3,
                        "total_episodes": 20,
                        "play_time": 600,
                        "total_time": 2700,
                        "save_time": 1717000000000,
                        "search_title": "长夜",
                    }
                },
                "favorites": {
                    "lz+123": {
                        "title": "长夜",
                        "source_name": "量子",
                        "cover": "",
                        "year": 2024,
                        "total_episodes": 20,
                        "save_time": 1717000000001,
                        "search_title": "",
                    }
                },
                "searchHistory": ["最新", "较早"],
                "skipConfigs": {"lz+123": {"enable": 1, "intro_time": "90", "outro_time": -60}},
                "password": "lily-plain",
            },
            "tom": {
                "playRecords": {},
                "favorites": {},
                "searchHistory": ["x"],
                "skipConfigs": {},
                "password": None,
            },
        },
    },
}


def lunatv_file_with_openssl(data: dict, password: str) -> bytes:
    """What MoonTV's export writes (JSON -> zlib -> Base64 -> CryptoJS AES), built with the openssl CLI."""
    inner = base64.b64encode(zlib.compress(json.dumps(data, ensure_ascii=False).encode()))
    assert OPENSSL is not None
    out = subprocess.run(
        [OPENSSL, "enc", "-aes-256-cbc", "-md", "md5", "-a", "-salt", "-pass", f"pass:{password}"],
        input=inner,
        capture_output=True,
        check=True,
    ).stdout
    return out  # multi-line Base64, as openssl writes it


@needs_openssl
async def test_lunatv_backup_imports(inprocess_app) -> None:
    app = await inprocess_app(None, refresh_interval=0)
    owner = await app.login()
    await owner.post(
        "/api/admin/user", json={"action": "add", "targetUsername": "leftover", "targetPassword": "x"}
    )
    blob = lunatv_file_with_openssl(LUNATV_DATA, "迁移密码")
    response = await import_file(owner, blob, "迁移密码")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "message": "数据导入成功",
        "importedUsers": 3,
        "timestamp": "2025-06-01T08:00:00.000Z",
        "serverVersion": "3.8.2",
        "format": "lunatv",
    }
    config = (await owner.get("/api/admin/config")).json()["Config"]
    roles = {u["username"]: (u["role"], bool(u.get("banned"))) for u in config["UserConfig"]["Users"]}
    assert roles == {
        "admin": ("owner", False),
        "oldowner": ("user", False),
        "lily": ("admin", False),
        "tom": ("user", True),
    }
    assert [s["key"] for s in config["SourceConfig"]] == ["lz", "own"]
    assert config["SiteConfig"]["SiteName"] == "旧站"
    assert "leftover" not in roles

    lily = await app.login("lily", "lily-plain")
    records = (await lily.get("/api/playrecords")).json()
    assert records["lz+123"]["index"] == 3 and records["lz+123"]["play_time"] == 600
    assert (await lily.get("/api/favorites")).json()["lz+123"]["year"] == "2024"
    assert (await lily.get("/api/searchhistory")).json() == ["最新", "较早"]
    assert (await lily.get("/api/skipconfigs")).json()["lz+123"] == {
        "enable": True,
        "intro_time": 90,
        "outro_time": -60,
    }
    assert (await lily.get("/api/admin/config")).status_code == 200  # admin role came along
    stored = await app.state.storage.get_password_hash("lily")
    assert stored.startswith("$argon2")  # plain-text passwords are hashed on import
    assert await app.state.storage.get_password_hash("tom") is None
    assert await app.state.storage.get_password_hash("admin") is None  # owner keeps env login
    c = await app.client()
    assert (await c.post("/api/login", json={"username": "admin", "password": "test"})).status_code == 200
    assert (
        await c.post("/api/login", json={"username": "oldowner", "password": "owner-env-pw"})
    ).status_code == 200


async def test_lunatv_single_line_cryptojs_output_imports(inprocess_app) -> None:
    app = await inprocess_app(None, refresh_interval=0)
    owner = await app.login()
    inner = base64.b64encode(zlib.compress(json.dumps(LUNATV_DATA).encode()))
    blob = cryptojs_encrypt(inner, "pw").encode()
    assert (await import_file(owner, blob, "pw")).status_code == 200
    assert (await import_file(owner, blob, "wrong")).json()["error"] == "解密失败，请检查密码是否正确"
