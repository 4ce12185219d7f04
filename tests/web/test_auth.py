"""Accounts through the app's HTTP interface (in process): login, cookies, bearer tokens, registration,
revocation, throttling."""

from __future__ import annotations

import hashlib
from typing import Any

from moontv.auth.passwords import hash_password

OWNER = {"username": "admin", "password": "test"}


async def test_owner_login_sets_hardened_cookie(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client()
    response = await client.post("/api/login", json=OWNER)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["role"] == "owner" and body["token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("auth=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=604800" in cookie
    assert "Secure" not in cookie
    # The cookie is not derived from the admin password: it verifies with the server secret only.
    assert "test" not in cookie.split(";")[0]
    assert (await client.get("/api/playrecords")).status_code == 200


async def test_secure_cookie_behind_https_proxy(inprocess_app: Any) -> None:
    client = await (await inprocess_app(trusted_proxies="127.0.0.1/32")).client()
    response = await client.post("/api/login", json=OWNER, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in response.headers["set-cookie"]


async def test_password_only_login_is_the_owner(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client()
    response = await client.post("/api/login", json={"password": "test"})
    assert response.status_code == 200 and response.json()["username"] == "admin"


async def test_wrong_password_and_bad_input(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client()
    wrong = await client.post("/api/login", json={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "用户名或密码错误", "ok": False}
    assert (await client.post("/api/login", json={"username": "admin"})).json()["error"] == "密码不能为空"
    assert (await client.post("/api/login", content=b"{not json")).status_code == 400
    assert (await client.post("/api/login", json=["a"])).status_code == 400
    assert (await client.post("/api/login", json={"password": 5})).status_code == 400
    assert (await client.post("/api/login", content=b"x" * (2 * 1024 * 1024))).status_code == 413


async def test_unauthenticated_api_gets_401_json(inprocess_app: Any) -> None:
    app = await inprocess_app()
    client = await app.client()
    for path in ("/api/playrecords", "/api/search?q=x", "/api/favorites", "/api/detail?id=1&source=a"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.json() == {"error": "Unauthorized"}
    forged = await app.client()
    forged.cookies.set("auth", "eyJ1IjoiYWRtaW4ifQ.AAAA")
    assert (await forged.get("/api/playrecords")).status_code == 401


async def test_bearer_token_for_tv_clients(inprocess_app: Any) -> None:
    app = await inprocess_app()
    token = (await (await app.client()).post("/api/login", json=OWNER)).json()["token"]
    fresh = await app.client()
    assert (await fresh.get("/api/playrecords")).status_code == 401
    bearer = await fresh.get("/api/playrecords", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200
    forged = await fresh.get("/api/playrecords", headers={"Authorization": "Bearer x.y"})
    assert forged.status_code == 401


async def test_registration_is_closed_by_default(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client()
    closed = await client.post("/api/register", json={"username": "bob", "password": "pw"})
    assert closed.status_code == 400 and closed.json()["error"] == "当前未开放注册"


async def test_registration_rules(inprocess_app: Any) -> None:
    app = await inprocess_app(enable_register=True)
    client = await app.client()
    assert (await client.post("/api/register", json={"username": "bob", "password": "pw"})).status_code == 200
    assert (await client.get("/api/playrecords")).status_code == 200
    again = await client.post("/api/register", json={"username": "bob", "password": "pw2"})
    assert again.status_code == 400 and again.json()["error"] == "用户已存在"
    owner = await client.post("/api/register", json={"username": "admin", "password": "pw"})
    assert owner.json()["error"] == "用户已存在"
    bad = await client.post("/api/register", json={"username": "a:b", "password": "pw"})
    assert bad.status_code == 400
    await app.login("bob", "pw")


async def test_change_password_revokes_other_sessions(inprocess_app: Any) -> None:
    app = await inprocess_app(enable_register=True)
    first = await app.client()
    registered = await first.post("/api/register", json={"username": "carol", "password": "old"})
    assert registered.status_code == 200
    second = await app.login("carol", "old")
    assert (await first.post("/api/change-password", json={"newPassword": "new"})).status_code == 200
    assert (await first.get("/api/playrecords")).status_code == 200  # the changing session got a fresh cookie
    assert (await second.get("/api/playrecords")).status_code == 401  # every other session is signed out
    assert (await first.post("/api/change-password", json={"newPassword": ""})).status_code == 400

    client = await app.client()
    assert (await client.post("/api/login", json={"username": "carol", "password": "old"})).status_code == 401
    await app.login("carol", "new")

    refused = await (await app.login()).post("/api/change-password", json={"newPassword": "x"})
    assert refused.status_code == 403 and refused.json()["error"] == "站长不能通过此接口修改密码"


async def test_ban_blocks_login_and_data(inprocess_app: Any) -> None:
    app = await inprocess_app()
    await app.add_user("dave", "pw")
    client = await app.login("dave", "pw")

    def ban(config: dict[str, Any]) -> None:
        for user in config["UserConfig"]["Users"]:
            if user["username"] == "dave":
                user["banned"] = True

    await app.state.config.update(ban)
    response = await client.get("/api/playrecords")
    assert response.status_code == 401 and response.json()["error"] == "用户已被封禁"
    other = await app.client()
    refused = await other.post("/api/login", json={"username": "dave", "password": "pw"})
    assert refused.status_code == 401 and refused.json()["error"] == "用户被封禁"


async def test_legacy_passwords_are_verified_then_rehashed(inprocess_app: Any) -> None:
    app = await inprocess_app()
    storage = app.state.storage
    salt = "0123456789abcdef0123456789abcdef"
    scrypt_value = (
        salt + ":" + hashlib.scrypt(b"s3cret", salt=salt.encode(), n=16384, r=8, p=1, dklen=64).hex()
    )
    await storage.set_password_hash("plain", "plainpw")
    await storage.set_password_hash("scrypt", scrypt_value)
    await storage.set_password_hash("argon", hash_password("argonpw"))

    client = await app.client()
    for name, password in (("plain", "plainpw"), ("scrypt", "s3cret"), ("argon", "argonpw")):
        assert (
            await client.post("/api/login", json={"username": name, "password": password})
        ).status_code == 200
        assert (
            await client.post("/api/login", json={"username": name, "password": "wrong"})
        ).status_code == 401
    for name in ("plain", "scrypt", "argon"):
        assert (await storage.get_password_hash(name)).startswith("$argon2id$"), name


async def test_login_rate_limit_per_ip_and_user(inprocess_app: Any) -> None:
    app = await inprocess_app(login_rate_limit=3, login_user_rate_limit=3, trusted_proxies="127.0.0.1/32")
    client = await app.client()
    bad = {"username": "admin", "password": "bad"}
    for _ in range(3):
        assert (await client.post("/api/login", json=bad)).status_code == 401
    limited = await client.post("/api/login", json=OWNER)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    elsewhere = {"X-Forwarded-For": "10.9.9.9"}
    # another address (through the trusted proxy) is limited for the same user ...
    assert (await client.post("/api/login", json=OWNER, headers=elsewhere)).status_code == 429
    # ... and this address for every user
    nobody = {"username": "nobody", "password": "x"}
    assert (await client.post("/api/login", json=nobody)).status_code == 429
    assert (await client.post("/api/login", json=nobody, headers=elsewhere)).status_code == 401


async def test_logout_clears_cookie(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).login()
    response = await client.post("/api/logout")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert (await client.get("/api/playrecords")).status_code == 401


async def test_server_config_and_health(inprocess_app: Any, storage_kind: str) -> None:
    client = await (await inprocess_app()).client()
    config = (await client.get("/api/server-config")).json()
    assert config["SiteName"] == "MoonTV" and config["StorageType"] == storage_kind and config["Version"]
    assert (await client.get("/api/health")).json()["status"] == "ok"
    ready = (await client.get("/api/ready")).json()
    assert ready["status"] == "ready" and ready["storage"] == storage_kind
    assert (await client.get("/login")).status_code == 200
    assert (await client.get("/", follow_redirects=False)).headers["location"].startswith("/login")
