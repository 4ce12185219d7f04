"""Accounts over HTTP: login, cookies, bearer tokens, registration, revocation, throttling."""

from __future__ import annotations

import httpx

from moontv.auth.passwords import hash_password


def test_owner_login_sets_hardened_cookie(live_app) -> None:
    server = live_app()
    with server.client() as client:
        response = client.post("/api/login", json={"username": "admin", "password": "test"})
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is True and body["role"] == "owner" and body["token"]
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("auth=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=604800" in cookie
        assert "Secure" not in cookie
        # The cookie is not derived from the admin password: it verifies with the server secret only.
        assert "test" not in cookie.split(";")[0]
        assert client.get("/api/playrecords").status_code == 200


def test_secure_cookie_behind_https_proxy(live_app) -> None:
    server = live_app(trusted_proxies="127.0.0.1/32")
    with server.client() as client:
        response = client.post(
            "/api/login",
            json={"username": "admin", "password": "test"},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert "Secure" in response.headers["set-cookie"]


def test_password_only_login_is_the_owner(live_app) -> None:
    server = live_app()
    with server.client() as client:
        response = client.post("/api/login", json={"password": "test"})
        assert response.status_code == 200 and response.json()["username"] == "admin"


def test_wrong_password_and_bad_input(live_app) -> None:
    server = live_app()
    with server.client() as client:
        wrong = client.post("/api/login", json={"username": "admin", "password": "nope"})
        assert wrong.status_code == 401 and wrong.json() == {"error": "用户名或密码错误", "ok": False}
        assert client.post("/api/login", json={"username": "admin"}).json()["error"] == "密码不能为空"
        assert client.post("/api/login", content=b"{not json").status_code == 400
        assert client.post("/api/login", json=["a"]).status_code == 400
        assert client.post("/api/login", json={"password": 5}).status_code == 400
        assert client.post("/api/login", content=b"x" * (2 * 1024 * 1024)).status_code == 413


def test_unauthenticated_api_gets_401_json(live_app) -> None:
    server = live_app()
    with server.client() as client:
        for path in ("/api/playrecords", "/api/search?q=x", "/api/favorites", "/api/detail?id=1&source=a"):
            response = client.get(path)
            assert response.status_code == 401, path
            assert response.json() == {"error": "Unauthorized"}
    with server.client(cookies={"auth": "eyJ1IjoiYWRtaW4ifQ.AAAA"}) as forged:
        assert forged.get("/api/playrecords").status_code == 401


def test_bearer_token_for_tv_clients(live_app) -> None:
    server = live_app()
    with server.client() as client:
        token = client.post("/api/login", json={"username": "admin", "password": "test"}).json()["token"]
    with server.client() as fresh:
        assert fresh.get("/api/playrecords").status_code == 401
        assert fresh.get("/api/playrecords", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert fresh.get("/api/playrecords", headers={"Authorization": "Bearer x.y"}).status_code == 401


def test_registration_is_closed_by_default(live_app) -> None:
    server = live_app()
    with server.client() as client:
        closed = client.post("/api/register", json={"username": "bob", "password": "pw"})
        assert closed.status_code == 400 and closed.json()["error"] == "当前未开放注册"


def test_registration_rules(live_app) -> None:
    server = live_app(enable_register=True)
    with server.client() as client:
        assert client.post("/api/register", json={"username": "bob", "password": "pw"}).status_code == 200
        assert client.get("/api/playrecords").status_code == 200
        again = client.post("/api/register", json={"username": "bob", "password": "pw2"})
        assert again.status_code == 400 and again.json()["error"] == "用户已存在"
        owner = client.post("/api/register", json={"username": "admin", "password": "pw"})
        assert owner.json()["error"] == "用户已存在"
        bad = client.post("/api/register", json={"username": "a:b", "password": "pw"})
        assert bad.status_code == 400
    with server.client() as other:
        assert other.post("/api/login", json={"username": "bob", "password": "pw"}).status_code == 200


def test_change_password_revokes_other_sessions(live_app) -> None:
    server = live_app(enable_register=True)
    with server.client() as first:
        assert first.post("/api/register", json={"username": "carol", "password": "old"}).status_code == 200
        second = server.login("carol", "old")
        changed = first.post("/api/change-password", json={"newPassword": "new"})
        assert changed.status_code == 200
        assert first.get("/api/playrecords").status_code == 200  # the changing session got a fresh cookie
        assert second.get("/api/playrecords").status_code == 401  # every other session is signed out
        second.close()
        assert first.post("/api/change-password", json={"newPassword": ""}).status_code == 400
    with server.client() as client:
        assert client.post("/api/login", json={"username": "carol", "password": "old"}).status_code == 401
        assert client.post("/api/login", json={"username": "carol", "password": "new"}).status_code == 200
    owner = server.login()
    refused = owner.post("/api/change-password", json={"newPassword": "x"})
    assert refused.status_code == 403 and refused.json()["error"] == "站长不能通过此接口修改密码"
    owner.close()


def test_ban_blocks_login_and_data(live_app) -> None:
    server = live_app(enable_register=True)
    with server.client() as client:
        assert client.post("/api/register", json={"username": "dave", "password": "pw"}).status_code == 200

        def ban(config: dict) -> None:
            for user in config["UserConfig"]["Users"]:
                if user["username"] == "dave":
                    user["banned"] = True

        server.call(server.state.config.update(ban))
        response = client.get("/api/playrecords")
        assert response.status_code == 401 and response.json()["error"] == "用户已被封禁"
    with server.client() as other:
        refused = other.post("/api/login", json={"username": "dave", "password": "pw"})
        assert refused.status_code == 401 and refused.json()["error"] == "用户被封禁"


def test_legacy_passwords_are_verified_then_rehashed(live_app) -> None:
    import hashlib

    server = live_app()
    storage = server.state.storage
    salt = "0123456789abcdef0123456789abcdef"
    scrypt_value = (
        salt + ":" + hashlib.scrypt(b"s3cret", salt=salt.encode(), n=16384, r=8, p=1, dklen=64).hex()
    )

    async def seed() -> None:
        await storage.set_password_hash("plain", "plainpw")
        await storage.set_password_hash("scrypt", scrypt_value)
        await storage.set_password_hash("argon", hash_password("argonpw"))

    server.call(seed())
    with server.client() as client:
        for name, password in (("plain", "plainpw"), ("scrypt", "s3cret"), ("argon", "argonpw")):
            assert client.post("/api/login", json={"username": name, "password": password}).status_code == 200
            assert client.post("/api/login", json={"username": name, "password": "wrong"}).status_code == 401

    async def stored(name: str) -> str:
        return await storage.get_password_hash(name)

    for name in ("plain", "scrypt", "argon"):
        value = server.call(stored(name))
        assert value.startswith("$argon2id$"), name


def test_login_rate_limit_per_ip_and_user(live_app) -> None:
    server = live_app(login_rate_limit=3, login_user_rate_limit=3, trusted_proxies="127.0.0.1/32")
    with server.client() as client:
        for _ in range(3):
            assert client.post("/api/login", json={"username": "admin", "password": "bad"}).status_code == 401
        limited = client.post("/api/login", json={"username": "admin", "password": "test"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        # another address (through the trusted proxy) is limited for the same user ...
        same_user = client.post(
            "/api/login",
            json={"username": "admin", "password": "test"},
            headers={"X-Forwarded-For": "10.9.9.9"},
        )
        assert same_user.status_code == 429
        # ... and this address for every user
        other_user = client.post("/api/login", json={"username": "nobody", "password": "x"})
        assert other_user.status_code == 429
        elsewhere = {"X-Forwarded-For": "10.9.9.9"}
        fresh = client.post("/api/login", json={"username": "nobody", "password": "x"}, headers=elsewhere)
        assert fresh.status_code == 401


def test_logout_clears_cookie(live_app) -> None:
    server = live_app()
    client = server.login()
    response = client.post("/api/logout")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert client.get("/api/playrecords").status_code == 401
    client.close()


def test_server_config_and_health(live_app, storage_kind) -> None:
    server = live_app()
    with httpx.Client(base_url=server.url, trust_env=False) as client:
        config = client.get("/api/server-config").json()
        assert config["SiteName"] == "MoonTV" and config["StorageType"] == storage_kind and config["Version"]
        assert client.get("/api/health").json()["status"] == "ok"
        ready = client.get("/api/ready").json()
        assert ready["status"] == "ready" and ready["storage"] == storage_kind
        assert client.get("/login").status_code == 200
        assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
