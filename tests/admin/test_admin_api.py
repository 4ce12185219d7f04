"""Admin API end to end through the app (in process), on SQLite and on Redis (the ``inprocess_app``
fixture runs both)."""

from __future__ import annotations

import json

import httpx

from tests.inprocess import InProcessApp

CONFLICT = "配置已被其他管理员修改，请刷新后重试"


async def start(inprocess_app, sites: dict[str, str] | None = None, **overrides):  # type: ignore[no-untyped-def]
    overrides.setdefault("refresh_interval", 0)
    return await inprocess_app(sites or {"file1": "https://cms.example/api.php/provide/vod"}, **overrides)


async def config(client: httpx.AsyncClient) -> dict:
    response = await client.get("/api/admin/config")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def add_user(
    owner: httpx.AsyncClient, name: str, password: str = "pw-123", *, admin: bool = False
) -> None:
    r = await owner.post(
        "/api/admin/user", json={"action": "add", "targetUsername": name, "targetPassword": password}
    )
    assert r.status_code == 200, r.text
    if admin:
        assert (
            await owner.post("/api/admin/user", json={"action": "setAdmin", "targetUsername": name})
        ).status_code == 200


async def users(client: httpx.AsyncClient) -> dict[str, dict]:
    return {u["username"]: u for u in (await config(client))["Config"]["UserConfig"]["Users"]}


async def post(client: httpx.AsyncClient, path: str, **body) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.post(path, json=body)


# -- access ------------------------------------------------------------------------------------------


async def test_admin_routes_need_sign_in_and_role(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    await add_user(owner, "carol")
    routes = [
        ("GET", "/api/admin/config", None),
        ("POST", "/api/admin/source", {"action": "add"}),
        ("POST", "/api/admin/site", {}),
        ("POST", "/api/admin/category", {"action": "add"}),
        ("POST", "/api/admin/group", {"action": "create"}),
        ("POST", "/api/admin/user", {"action": "ban", "targetUsername": "x"}),
        ("POST", "/api/admin/config_file", {"configFile": "{}"}),
        ("POST", "/api/admin/source/check", {}),
        ("GET", "/api/admin/subscription", None),
        ("POST", "/api/admin/reset", None),
        ("POST", "/api/admin/subscription", {"action": "check"}),
        ("POST", "/api/admin/data_migration/export", {"password": "x"}),
    ]
    anonymous = await app.client()
    for method, path, body in routes:
        assert (await anonymous.request(method, path, json=body)).status_code == 401, path
    carol = await app.login("carol", "pw-123")
    for method, path, body in routes:
        response = await carol.request(method, path, json=body)
        assert response.status_code == 403, (path, response.text)
    assert (await carol.get("/api/admin/config")).json()["error"] == "你是管理员吗你就访问？"
    page = await carol.get("/admin")
    assert page.status_code == 403
    anonymous = await app.client(follow_redirects=False)
    assert (await anonymous.get("/admin")).status_code in (303, 307)
    assert (await owner.get("/admin")).status_code == 200


async def test_config_view_merges_last_online_and_hides_token_hashes(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    await add_user(owner, "dave")
    dave = await app.login("dave", "pw-123")
    stamp = (await dave.post("/api/user/online")).json()["lastOnline"]
    await owner.post("/api/admin/tvbox", json={"action": "rotate", "username": "dave"})
    body = await config(owner)
    assert body["Role"] == "owner" and isinstance(body["version"], int)
    dave_entry = (await users(owner))["dave"]
    assert dave_entry["lastOnline"] == stamp
    assert dave_entry["tvbox"]["active"] is True and "tvboxToken" not in json.dumps(body)
    assert body["StorageType"] == app.state.storage.kind


# -- versioned writes ----------------------------------------------------------------------------------


async def test_stale_writes_get_409_and_change_nothing(inprocess_app) -> None:
    app = await start(inprocess_app)
    alice = await app.login()
    await add_user(alice, "bob", admin=True)
    bob = await app.login("bob", "pw-123")
    base = (await config(alice))["version"]
    assert (await config(bob))["version"] == base
    first = await alice.post(
        "/api/admin/source",
        json={"action": "add", "key": "a1", "name": "A1", "api": "https://a.example/api", "version": base},
    )
    assert first.status_code == 200 and first.json()["version"] == base + 1
    stale = await bob.post(
        "/api/admin/source",
        json={"action": "add", "key": "b1", "name": "B1", "api": "https://b.example/api", "version": base},
    )
    assert stale.status_code == 409 and stale.json()["error"] == CONFLICT
    header = await bob.post("/api/admin/site", json={"SiteName": "X"}, headers={"If-Match": f'"{base}"'})
    assert header.status_code == 409
    keys = [s["key"] for s in (await config(alice))["Config"]["SourceConfig"]]
    assert "a1" in keys and "b1" not in keys
    assert (await config(alice))["Config"]["SiteConfig"]["SiteName"] != "X"
    fresh = (await config(bob))["version"]
    assert (await bob.post("/api/admin/site", json={"SiteName": "X", "version": fresh})).status_code == 200
    assert (await bob.post("/api/admin/site", json={"SiteName": "Y", "version": "abc"})).status_code == 400
    stale_user = await bob.post(
        "/api/admin/user",
        json={"action": "add", "targetUsername": "zz", "targetPassword": "p", "version": base},
    )
    assert stale_user.status_code == 409 and "zz" not in await users(alice)
    # without a version, writes are applied on the latest config (no lost update either)
    assert (
        await bob.post("/api/admin/category", json={"action": "add", "name": "n", "type": "tv", "query": "q"})
    ).status_code == 200


# -- sources ---------------------------------------------------------------------------------------


async def source(owner: httpx.AsyncClient, action: str, **body: object) -> httpx.Response:
    return await owner.post("/api/admin/source", json={"action": action, **body})


async def source_keys(owner: httpx.AsyncClient) -> list[str]:
    return [s["key"] for s in (await config(owner))["Config"]["SourceConfig"]]


async def owner_with_custom_sources(inprocess_app, *keys: str) -> tuple[InProcessApp, httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The owner of a site whose config file has ``file1``, with custom sources ``keys`` added."""
    app = await start(inprocess_app)
    owner = await app.login()
    for key in keys:
        added = await source(
            owner, "add", key=key, name=key.upper(), api=f"https://{key}.example/api.php/provide/vod"
        )
        assert added.status_code == 200, added.text
    return app, owner


async def test_source_add_validates_input_and_marks_custom_sources(inprocess_app) -> None:
    _, owner = await owner_with_custom_sources(inprocess_app, "s1", "s2", "s3")
    duplicate = await source(owner, "add", key="s1", name="dup", api="https://x.example/a")
    assert duplicate.json()["error"] == "该源已存在"
    assert (await source(owner, "add", key="bad key", name="n", api="https://x.example/a")).status_code == 400
    assert (await source(owner, "add", key="s9", name="n", api="javascript:alert(1)")).status_code == 400
    nameless = await source(owner, "add", key="s9", name="", api="https://x.example/a")
    assert nameless.json()["error"] == "缺少必要参数"
    assert (await source(owner, "nope")).json()["error"] == "参数格式错误"
    assert await source_keys(owner) == ["file1", "s1", "s2", "s3"]
    entry = {s["key"]: s for s in (await config(owner))["Config"]["SourceConfig"]}
    assert entry["s1"]["from"] == "custom" and entry["file1"]["from"] == "config"


async def test_source_edit_changes_custom_sources_only(inprocess_app) -> None:
    _, owner = await owner_with_custom_sources(inprocess_app, "s1")
    edited = await source(owner, "edit", key="s1", name="Renamed", detail="https://d.example")
    assert edited.status_code == 200
    s1 = next(s for s in (await config(owner))["Config"]["SourceConfig"] if s["key"] == "s1")
    assert s1["name"] == "Renamed" and s1["detail"] == "https://d.example"
    assert (await source(owner, "edit", key="file1", name="x")).status_code == 400
    assert (await source(owner, "edit", key="ghost", name="x")).status_code == 404


async def test_a_disabled_source_is_hidden_from_search_until_enabled(inprocess_app) -> None:
    _, owner = await owner_with_custom_sources(inprocess_app, "s1", "s2")

    async def searchable() -> list[str]:
        return [s["key"] for s in (await owner.get("/api/search/resources")).json()]

    assert (await source(owner, "disable", key="s2")).status_code == 200
    assert "s2" not in await searchable() and "s1" in await searchable()
    assert (await source(owner, "enable", key="s2")).status_code == 200
    assert "s2" in await searchable()
    assert (await source(owner, "enable")).json()["error"] == "缺少 key 参数"
    assert (await source(owner, "enable", key="ghost")).status_code == 404


async def test_source_sort_and_delete(inprocess_app) -> None:
    _, owner = await owner_with_custom_sources(inprocess_app, "s1", "s2", "s3")
    assert (await source(owner, "sort", order=["s3", "s1"])).status_code == 200
    assert await source_keys(owner) == ["s3", "s1", "file1", "s2"]
    assert (await source(owner, "sort", order="s3")).json()["error"] == "排序列表格式错误"
    assert (await source(owner, "delete", key="file1")).json()["error"] == "该源不可删除"
    assert (await source(owner, "delete", key="s3")).status_code == 200
    assert await source_keys(owner) == ["s1", "file1", "s2"]


async def test_batch_source_actions_skip_config_sources(inprocess_app) -> None:
    _, owner = await owner_with_custom_sources(inprocess_app, "s1", "s2")
    assert (await source(owner, "batchDisable", keys=["s1", "s2", "ghost"])).status_code == 200
    sources = (await config(owner))["Config"]["SourceConfig"]
    assert [s["key"] for s in sources if s["disabled"]] == ["s1", "s2"]
    assert (await source(owner, "batchEnable", keys=["s1"])).status_code == 200
    assert (await source(owner, "batchEnable", keys=[])).json()["error"] == "缺少 keys 参数或列表为空"
    assert (await source(owner, "batchDelete", keys=["s1", "s2", "file1"])).status_code == 200
    assert await source_keys(owner) == ["file1"]  # config sources are skipped


# -- users: the permission matrix ---------------------------------------------------------------------


async def test_user_permission_matrix(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    await add_user(owner, "adm1", admin=True)
    await add_user(owner, "adm2", admin=True)
    await add_user(owner, "u1")
    await add_user(owner, "u2")
    adm1 = await app.login("adm1", "pw-123")

    async def act(
        client: httpx.AsyncClient, action: str, target: str | None = None, **extra
    ) -> httpx.Response:  # type: ignore[no-untyped-def]
        body = {"action": action, **extra}
        if target is not None:
            body["targetUsername"] = target
        return await client.post("/api/admin/user", json=body)

    def expect(response: httpx.Response, status: int, message: str) -> None:
        assert (response.status_code, response.json().get("error")) == (status, message), response.text

    expect(await act(adm1, "bogus", "u1"), 400, "参数格式错误")
    expect(await act(adm1, "ban"), 400, "缺少目标用户名")
    expect(await act(adm1, "ban", "adm1"), 400, "无法对自己进行此操作")
    expect(await act(adm1, "ban", "admin"), 400, "无法操作站长")
    expect(await act(adm1, "changePassword", "admin", targetPassword="x"), 403, "无法修改站长密码")
    expect(await act(adm1, "add", "u1", targetPassword="x"), 400, "用户已存在")
    expect(await act(adm1, "add", "new1"), 400, "缺少目标用户密码")
    expect(
        await act(adm1, "add", "bad name", targetPassword="x"),
        400,
        "用户名需为 1-32 个字符，且不能包含空白或 : * ? [ ] / \\ +",
    )
    expect(await act(adm1, "ban", "ghost"), 404, "目标用户不存在")
    expect(await act(adm1, "ban", "adm2"), 403, "仅站长可封禁管理员")
    expect(await act(adm1, "unban", "adm2"), 403, "仅站长可操作管理员")
    expect(await act(adm1, "setAdmin", "u1"), 403, "仅站长可设置管理员")
    expect(await act(owner, "setAdmin", "adm2"), 400, "该用户已是管理员")
    expect(await act(adm1, "cancelAdmin", "adm2"), 403, "仅站长可取消管理员")
    expect(await act(owner, "cancelAdmin", "u1"), 400, "目标用户不是管理员")
    expect(await act(adm1, "changePassword", "u1"), 400, "缺少新密码")
    expect(await act(adm1, "changePassword", "adm2", targetPassword="x"), 403, "仅站长可修改其他管理员密码")
    expect(await act(adm1, "deleteUser", "adm1"), 400, "不能删除自己")
    expect(await act(adm1, "deleteUser", "adm2"), 403, "仅站长可删除管理员")
    expect(await act(adm1, "setAllowRegister", allowRegister="yes"), 400, "参数格式错误")

    # allowed ones
    assert (await act(adm1, "add", "new1", targetPassword="pw-new")).status_code == 200
    assert (
        await act(adm1, "changePassword", "adm1", targetPassword="pw-self")
    ).status_code == 200  # own password
    assert (await act(owner, "setAdmin", "u1")).status_code == 200 and (await users(owner))["u1"][
        "role"
    ] == "admin"
    assert (await act(owner, "cancelAdmin", "u1")).status_code == 200 and (await users(owner))["u1"][
        "role"
    ] == "user"
    assert (await act(owner, "setAllowRegister", allowRegister=True)).status_code == 200
    assert (await config(owner))["Config"]["UserConfig"]["AllowRegister"] is True
    c = await app.client()
    assert (await c.post("/api/register", json={"username": "selfreg", "password": "pw"})).status_code == 200


async def test_ban_password_reset_and_delete_revoke_sessions(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    await add_user(owner, "u1")
    await add_user(owner, "u2")
    await add_user(owner, "u3")
    s1, s2, s3 = [await app.login(n, "pw-123") for n in ("u1", "u2", "u3")]
    for session in (s1, s2, s3):
        assert (await session.get("/api/playrecords")).status_code == 200

    assert (
        await owner.post("/api/admin/user", json={"action": "ban", "targetUsername": "u1"})
    ).status_code == 200
    assert (await users(owner))["u1"]["banned"] is True
    assert (await s1.get("/api/playrecords")).status_code == 401
    c = await app.client()
    refused = await c.post("/api/login", json={"username": "u1", "password": "pw-123"})
    assert refused.status_code == 401 and refused.json()["error"] == "用户被封禁"
    assert (
        await owner.post("/api/admin/user", json={"action": "unban", "targetUsername": "u1"})
    ).status_code == 200
    assert (await (await app.login("u1", "pw-123")).get("/api/playrecords")).status_code == 200

    r = await owner.post(
        "/api/admin/user",
        json={"action": "changePassword", "targetUsername": "u2", "targetPassword": "fresh-pw"},
    )
    assert r.status_code == 200
    assert (await s2.get("/api/playrecords")).status_code == 401
    assert (await (await app.login("u2", "fresh-pw")).get("/api/playrecords")).status_code == 200

    await s3.post(
        "/api/playrecords", json={"key": "a+1", "record": {"title": "T", "source_name": "S", "index": 1}}
    )
    assert (
        await owner.post("/api/admin/user", json={"action": "deleteUser", "targetUsername": "u3"})
    ).status_code == 200
    assert "u3" not in await users(owner)
    assert (await s3.get("/api/playrecords")).status_code == 401
    assert await app.state.storage.get_all_play_records("u3") == {}
    c = await app.client()
    assert (await c.post("/api/login", json={"username": "u3", "password": "pw-123"})).status_code == 401


async def group(owner: httpx.AsyncClient, action: str, **body: object) -> httpx.Response:
    return await owner.post("/api/admin/group", json={"action": action, **body})


async def for_user(owner: httpx.AsyncClient, action: str, name: str, **body: object) -> httpx.Response:
    return await owner.post("/api/admin/user", json={"action": action, "targetUsername": name, **body})


async def site_with_groups_to_be(inprocess_app):  # type: ignore[no-untyped-def]
    """Sources file1 (config), g1..g3 (custom); users u1 and the admin adm; what u1 may search."""
    app, owner = await owner_with_custom_sources(inprocess_app, "g1", "g2", "g3")
    await add_user(owner, "u1")
    await add_user(owner, "adm", admin=True)
    u1 = await app.login("u1", "pw-123")

    async def visible() -> list[str]:
        return [s["key"] for s in (await u1.get("/api/config/sources")).json()]

    assert await visible() == ["file1", "g1", "g2", "g3"]
    return app, owner, visible


async def test_a_group_limits_its_users_to_its_sources(inprocess_app) -> None:
    app, owner, visible = await site_with_groups_to_be(inprocess_app)
    assert (await group(owner, "create", name="kids", sourceKeys=["g1", "g2"])).status_code == 200
    assert (await group(owner, "create", name="kids")).json()["error"] == "分组已存在"
    assert (await group(owner, "create", name="x", sourceKeys=["ghost"])).status_code == 400
    assert (await group(owner, "create")).json()["error"] == "缺少分组名称"
    assert (await group(owner, "assignUsers", name="kids", users=["u1"])).status_code == 200
    assert await visible() == ["g1", "g2"]
    adm = await app.login("adm", "pw-123")
    assert (await group(adm, "assignUsers", name="kids", users=["admin"])).status_code == 400
    assert (await group(owner, "setSources", name="kids", sourceKeys=["g3"])).status_code == 200
    assert await visible() == ["g3"]
    assert (await group(owner, "rename", name="kids", newName="teens")).status_code == 200
    assert (await users(owner))["u1"]["group"] == "teens"
    assert (await group(owner, "rename", name="ghost", newName="x")).status_code == 404


async def test_a_per_user_allow_list_wins_over_the_group(inprocess_app) -> None:
    _, owner, visible = await site_with_groups_to_be(inprocess_app)
    await group(owner, "create", name="teens", sourceKeys=["g3"])
    await group(owner, "assignUsers", name="teens", users=["u1"])
    assert (await for_user(owner, "setSources", "u1", sourceKeys=["g1", "file1"])).status_code == 200
    assert await visible() == ["file1", "g1"]
    assert (await for_user(owner, "setSources", "u1", sourceKeys=["nope"])).status_code == 400
    assert (await for_user(owner, "setSources", "u1", sourceKeys=[])).status_code == 200
    assert await visible() == ["g3"]


async def test_leaving_and_deleting_groups(inprocess_app) -> None:
    _, owner, visible = await site_with_groups_to_be(inprocess_app)
    await group(owner, "create", name="teens", sourceKeys=["g3"])
    assert (await for_user(owner, "setGroup", "u1", group="ghost")).status_code == 404
    assert (await for_user(owner, "setGroup", "u1", group="teens")).status_code == 200
    assert await visible() == ["g3"]
    assert (await for_user(owner, "setGroup", "u1", group="")).status_code == 200
    assert await visible() == ["file1", "g1", "g2", "g3"]
    assert (await for_user(owner, "setGroup", "u1", group="teens")).status_code == 200
    assert (await group(owner, "removeUsers", users=["u1"])).status_code == 200
    assert "group" not in (await users(owner))["u1"]
    await group(owner, "assignUsers", name="teens", users=["u1"])
    assert (await group(owner, "delete", name="teens")).status_code == 200
    assert "group" not in (await users(owner))["u1"]
    assert (await config(owner))["Config"]["UserConfig"]["Groups"] == []


async def test_deleting_a_source_removes_it_from_groups_and_allow_lists(inprocess_app) -> None:
    _, owner, _ = await site_with_groups_to_be(inprocess_app)
    await group(owner, "create", name="g", sourceKeys=["g1", "g2"])
    await for_user(owner, "setSources", "u1", sourceKeys=["g1", "g2"])
    await source(owner, "delete", key="g1")
    cfg = (await config(owner))["Config"]
    assert cfg["UserConfig"]["Groups"][0]["sourceKeys"] == ["g2"]
    assert (await users(owner))["u1"]["enabledApis"] == ["g2"]


# -- categories, site, config file, reset ---------------------------------------------------------------


async def test_categories(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    for name, type_, query in (("日剧", "tv", "日剧"), ("科幻", "movie", "科幻"), ("纪录", "tv", "纪录片")):
        assert (
            await post(owner, "/api/admin/category", action="add", name=name, type=type_, query=query)
        ).status_code == 200
    assert (await post(owner, "/api/admin/category", action="add", name="x", type="tv", query="日剧")).json()[
        "error"
    ] == "该分类已存在"
    assert (
        await post(owner, "/api/admin/category", action="add", name="x", type="anime", query="q")
    ).status_code == 400
    assert (await post(owner, "/api/admin/category", action="disable", query="日剧")).json()[
        "error"
    ] == "缺少 query 或 type 参数"
    assert (
        await post(owner, "/api/admin/category", action="disable", query="日剧", type="movie")
    ).status_code == 404
    assert (
        await post(owner, "/api/admin/category", action="disable", query="日剧", type="tv")
    ).status_code == 200
    assert (
        await post(owner, "/api/admin/category", action="sort", order=["纪录片:tv", "科幻:movie"])
    ).status_code == 200
    cats = (await config(owner))["Config"]["CustomCategories"]
    assert [c["query"] for c in cats] == ["纪录片", "科幻", "日剧"]
    assert cats[2]["disabled"] is True
    assert (
        await post(owner, "/api/admin/category", action="enable", query="日剧", type="tv")
    ).status_code == 200
    assert (
        await post(owner, "/api/admin/category", action="delete", query="科幻", type="movie")
    ).status_code == 200
    assert len((await config(owner))["Config"]["CustomCategories"]) == 2
    user_view = (await owner.get("/api/config/custom_category")).json()
    assert [c["query"] for c in user_view] == ["纪录片", "日剧"]


async def test_site_settings(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    body = {
        "SiteName": "新站点",
        "Announcement": "公告",
        "SearchDownstreamMaxPage": 3,
        "SiteInterfaceCacheTime": 600,
        "DoubanProxyType": "cmliussss-cdn-ali",
        "DoubanProxy": "",
        "DoubanImageProxyType": "server",
        "DoubanImageProxy": "",
        "DisableYellowFilter": True,
        "DanmakuApiBaseUrl": "https://danmu.example",
    }
    assert (await owner.post("/api/admin/site", json=body)).status_code == 200
    cfg = (await config(owner))["Config"]
    for key, value in body.items():
        assert cfg["SiteConfig"][key] == value, key
    assert json.loads(cfg["ConfigFile"])["cache_time"] == 600  # kept in the config file as MoonTV does
    assert (await owner.get("/api/server-config")).json()["SiteName"] == "新站点"
    bad = [
        {"SiteName": 5},
        {"SiteName": ""},
        {"SearchDownstreamMaxPage": 0},
        {"SearchDownstreamMaxPage": "3"},
        {"SiteInterfaceCacheTime": -1},
        {"DoubanProxyType": "evil"},
        {"DisableYellowFilter": "yes"},
        {"DoubanProxyType": "custom", "DoubanProxy": ""},
        {"DoubanImageProxy": "ftp://x"},
    ]
    for payload in bad:
        assert (await owner.post("/api/admin/site", json=payload)).status_code == 400, payload
    assert (await config(owner))["Config"]["SiteConfig"]["SiteName"] == "新站点"


async def test_config_file_editor_validation_diff_and_save(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    current = json.loads((await config(owner))["Config"]["ConfigFile"])
    new = {
        "cache_time": 300,
        "api_site": {**current["api_site"], "added": {"api": "https://added.example/api", "name": "Added"}},
        "custom_category": [{"name": "热门", "type": "movie", "query": "热门"}],
    }
    del new["api_site"]["file1"]
    preview = await owner.post(
        "/api/admin/config_file", json={"configFile": json.dumps(new), "preview": True}
    )
    assert preview.status_code == 200
    data = preview.json()
    assert data["valid"] is True and data["changed"] is True
    assert data["summary"]["sourcesAdded"] == ["added"] and data["summary"]["sourcesRemoved"] == ["file1"]
    assert data["summary"]["categoriesAdded"] == 1
    assert "+" in data["diff"] and '"added"' in data["diff"]
    version = (await config(owner))["version"]
    assert version == data["version"]  # a preview writes nothing

    bad_json = await owner.post("/api/admin/config_file", json={"configFile": "{oops", "preview": True})
    assert bad_json.status_code == 400 and bad_json.json() == {
        "valid": False,
        "error": "配置文件格式错误，请检查 JSON 语法",
    }
    bad_field = await owner.post(
        "/api/admin/config_file", json={"configFile": '{"api_site": {"k": {"name": "n", "api": "ftp://x"}}}'}
    )
    assert bad_field.status_code == 400 and "api_site.k.api" in bad_field.json()["error"]
    assert (await owner.post("/api/admin/config_file", json={"configFile": "  "})).json()[
        "error"
    ] == "配置文件内容不能为空"
    assert (await config(owner))["version"] == version

    saved = await owner.post(
        "/api/admin/config_file", json={"configFile": json.dumps(new), "version": version}
    )
    assert saved.status_code == 200 and saved.json()["message"] == "配置文件更新成功"
    cfg = (await config(owner))["Config"]
    sources = {s["key"]: s for s in cfg["SourceConfig"]}
    assert sources["added"]["from"] == "config" and sources["file1"]["from"] == "custom"
    assert cfg["SiteConfig"]["SiteInterfaceCacheTime"] == 300
    assert cfg["CustomCategories"][0]["query"] == "热门"


async def test_reset_to_config_file_is_owner_only(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    await add_user(owner, "adm", admin=True)
    await add_user(owner, "u1")
    await post(owner, "/api/admin/source", action="add", key="custom1", name="c", api="https://c.example/api")
    await post(owner, "/api/admin/user", action="ban", targetUsername="u1")
    await owner.post("/api/admin/site", json={"SiteName": "Changed"})
    adm = await app.login("adm", "pw-123")
    refused = await adm.post("/api/admin/reset")
    assert refused.status_code == 403 and refused.json()["error"] == "仅支持站长重置配置"
    assert (await owner.get("/api/admin/reset")).status_code == 405  # a reset is never a GET
    assert (await owner.post("/api/admin/reset")).status_code == 200
    cfg = (await config(owner))["Config"]
    assert [s["key"] for s in cfg["SourceConfig"]] == ["file1"]
    assert cfg["SiteConfig"]["SiteName"] == "MoonTV"
    roles = {u["username"]: (u["role"], u.get("banned", False)) for u in cfg["UserConfig"]["Users"]}
    assert roles == {"admin": ("owner", False), "adm": ("user", False), "u1": ("user", False)}
    # the former admin lost the role at once
    assert (await adm.get("/api/admin/config")).status_code == 403


async def test_bad_bodies_are_4xx(inprocess_app) -> None:
    app = await start(inprocess_app)
    owner = await app.login()
    for path in (
        "/api/admin/source",
        "/api/admin/user",
        "/api/admin/group",
        "/api/admin/category",
        "/api/admin/site",
    ):
        assert (await owner.post(path, content=b"{nope")).status_code == 400, path
        assert (await owner.post(path, json=[1, 2])).status_code == 400, path
        assert (await owner.post(path, json={"action": {"x": 1}})).status_code == 400, path
    assert (
        await owner.post("/api/admin/source", json={"action": "batchDelete", "keys": [1, None]})
    ).status_code == 400
    assert (
        await owner.post("/api/admin/user", json={"action": "add", "targetUsername": 5})
    ).status_code == 400


def test_the_site_request_model_knows_every_field_the_site_settings_take() -> None:
    """An admin request with an unknown field is a 400; a field the settings do take must not be one."""
    from moontv.admin import site
    from moontv.web.admin_requests import SiteRequest

    assert set(site.STRINGS) | set(site.BOOLS) <= set(SiteRequest.model_fields)
