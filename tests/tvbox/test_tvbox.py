"""TVBox: token lifecycle, config JSON against the documented field set, filtering proxy, categories."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from moontv.tvbox.service import SITE_FIELDS, parse_filters
from tests.fakes.douban_fake import FakeDouban
from tests.fakes.fake_cms import FakeCms, make_item

# The TVBox site object (CatVodTVOfficial/TVBoxOSC, FongMi/TV): documented keys and their JSON types.
SITE_SCHEMA = {
    "key": str,
    "name": str,
    "type": int,
    "api": str,
    "searchable": int,
    "quickSearch": int,
    "filterable": int,
    "ext": str,
    "jar": str,
    "playerType": int,
    "hide": int,
    "categories": list,
}
TOP_LEVEL = {"spider", "wallpaper", "sites", "parses", "lives", "flags", "rules", "ads", "doh", "ijk"}


@pytest.fixture
def storage_kind() -> str:
    return "sqlite"


def validate_tvbox(doc: dict) -> None:
    assert set(doc) <= TOP_LEVEL
    assert isinstance(doc["sites"], list) and doc["sites"]
    for site in doc["sites"]:
        assert set(site) <= set(SITE_SCHEMA), set(site) - set(SITE_SCHEMA)
        for key, value in site.items():
            assert isinstance(value, SITE_SCHEMA[key]) and not isinstance(value, bool), key
        assert site["type"] in (0, 1, 3, 4)
        assert site["searchable"] in (0, 1) and site["quickSearch"] in (0, 1)
        assert httpx.URL(site["api"]).scheme in ("http", "https")
    keys = [s["key"] for s in doc["sites"]]
    assert len(keys) == len(set(keys))
    for name in ("parses", "lives", "ads"):
        assert isinstance(doc.get(name, []), list)


async def start(inprocess_app, fake_cms: FakeCms, douban: FakeDouban | None = None):  # type: ignore[no-untyped-def]
    api = f"{fake_cms.url}/api.php/provide/vod"
    extra = {"douban_m_base": douban.url, "douban_base": douban.url} if douban else {}
    app = await inprocess_app(
        {"cms": api, "other": "https://other.example/api.php/provide/vod"}, refresh_interval=0, **extra
    )
    owner = await app.login()
    assert (await owner.post("/api/admin/tvbox", json={"action": "enable"})).status_code == 200
    return app, owner


async def test_token_lifecycle_and_config_json(inprocess_app, fake_cms: FakeCms) -> None:
    app, owner = await start(inprocess_app, fake_cms)
    status = (await owner.get("/api/admin/tvbox")).json()
    assert status["enabled"] is True and status["token"] == {"active": False}
    rotated = (await owner.post("/api/admin/tvbox", json={"action": "rotate"})).json()
    token = rotated["token"]
    assert rotated["url"].endswith(f"/api/tvbox/config?token={token}")
    query = rotated["url"].partition("?")[2]
    assert "pwd=" not in query and "test" not in query  # never the owner's password
    assert (await owner.get("/api/admin/tvbox")).json()["token"]["active"] is True

    tv = await app.client()
    doc = await tv.get("/api/tvbox/config", params={"token": token})
    assert doc.status_code == 200
    body = doc.json()
    validate_tvbox(body)
    assert body["sites"][0]["key"] == "douban_custom" and body["sites"][0]["searchable"] == 0
    assert body["sites"][0]["api"].endswith(f"/api/tvbox/s/{token}/categories")
    cms = body["sites"][1]
    assert cms == {
        "key": "cms",
        "name": "源cms",
        "type": 1,
        "api": f"{fake_cms.url}/api.php/provide/vod",
        "searchable": 1,
        "quickSearch": 1,
        "filterable": 1,
        "ext": "",
    }
    b64 = await tv.get("/api/tvbox/config", params={"token": token, "format": "base64"})
    assert json.loads(base64.b64decode(b64.content)) == body
    assert (await tv.get("/api/tvbox/config")).status_code == 401
    assert (await tv.get("/api/tvbox/config", params={"token": "x" * 30})).status_code == 401
    assert (await tv.get("/api/tvbox/config", params={"token": token, "filter": "evil"})).status_code == 400

    # rotation invalidates the old token; revocation ends the new one
    new = (await owner.post("/api/admin/tvbox", json={"action": "rotate"})).json()["token"]
    tv = await app.client()
    assert (await tv.get("/api/tvbox/config", params={"token": token})).status_code == 401
    assert (await tv.get("/api/tvbox/config", params={"token": new})).status_code == 200
    await owner.post("/api/admin/tvbox", json={"action": "revoke"})
    tv = await app.client()
    assert (await tv.get("/api/tvbox/config", params={"token": new})).status_code == 401

    # the token is only stored hashed
    stored, _ = await app.state.storage.get_admin_config()
    assert new not in json.dumps(stored)


async def test_disabled_banned_and_group_filtered(inprocess_app, fake_cms: FakeCms) -> None:
    app, owner = await start(inprocess_app, fake_cms)
    await owner.post(
        "/api/admin/user", json={"action": "add", "targetUsername": "kid", "targetPassword": "pw"}
    )
    await owner.post("/api/admin/group", json={"action": "create", "name": "g", "sourceKeys": ["other"]})
    await owner.post("/api/admin/group", json={"action": "assignUsers", "name": "g", "users": ["kid"]})
    kid = await app.login("kid", "pw")
    token = (await kid.post("/api/tvbox/token", json={"action": "rotate"})).json()["token"]  # self-service
    assert (await kid.get("/api/tvbox/token")).json()["token"]["active"] is True
    assert (
        await kid.post("/api/tvbox/token", json={"action": "rotate", "username": "admin"})
    ).status_code == 400
    assert (await kid.post("/api/admin/tvbox", json={"action": "rotate"})).status_code == 403
    assert (await kid.post("/api/admin/tvbox", json={"action": "enable"})).status_code == 403
    tv = await app.client()
    sites = (await tv.get("/api/tvbox/config", params={"token": token})).json()["sites"]
    assert [s["key"] for s in sites] == ["douban_custom", "other"]
    await owner.post("/api/admin/user", json={"action": "ban", "targetUsername": "kid"})
    tv = await app.client()
    assert (await tv.get("/api/tvbox/config", params={"token": token})).status_code == 403
    await owner.post("/api/admin/user", json={"action": "unban", "targetUsername": "kid"})
    await owner.post("/api/admin/tvbox", json={"action": "disable"})
    tv = await app.client()
    refused = await tv.get("/api/tvbox/config", params={"token": token})
    assert refused.status_code == 403 and refused.json()["error"] == "TVBox 接口未开启"
    await owner.post("/api/admin/tvbox", json={"action": "enable"})
    # admin rotates a user's token and revokes everything
    issued = (await owner.post("/api/admin/tvbox", json={"action": "rotate", "username": "kid"})).json()
    assert issued["username"] == "kid"
    assert (
        await owner.post("/api/admin/tvbox", json={"action": "rotate", "username": "ghost"})
    ).status_code == 404
    assert (await owner.post("/api/admin/tvbox", json={"action": "revokeAll"})).status_code == 200
    tv = await app.client()
    assert (await tv.get("/api/tvbox/config", params={"token": issued["token"]})).status_code == 401
    # deleting the user ends the token too
    token = (await owner.post("/api/admin/tvbox", json={"action": "rotate", "username": "kid"})).json()[
        "token"
    ]
    await owner.post("/api/admin/user", json={"action": "deleteUser", "targetUsername": "kid"})
    tv = await app.client()
    assert (await tv.get("/api/tvbox/config", params={"token": token})).status_code == 401


async def test_filtering_proxy(inprocess_app, fake_cms_factory) -> None:  # type: ignore[no-untyped-def]
    items = [
        make_item(1, "正常电影", type_name="动作片", episodes=2),
        make_item(2, "不良内容", type_name="伦理片", episodes=1),
    ]
    fake = fake_cms_factory(items)
    app, owner = await start(inprocess_app, fake)
    token = (await owner.post("/api/admin/tvbox", json={"action": "rotate"})).json()["token"]
    tv = await app.client()
    body = (await tv.get("/api/tvbox/config", params={"token": token, "filter": "adult"})).json()
    validate_tvbox(body)
    cms = next(s for s in body["sites"] if s["key"] == "cms")
    assert cms["api"].endswith(f"/api/tvbox/s/{token}/cms/adult/cms")
    direct = httpx.get(f"{fake.url}/api.php/provide/vod", params={"ac": "videolist"}).json()
    assert {i["vod_name"] for i in direct["list"]} == {"正常电影", "不良内容"}
    proxied = (await tv.get(cms["api"], params={"ac": "videolist"})).json()
    assert [i["vod_name"] for i in proxied["list"]] == ["正常电影"]
    unfiltered = (
        await tv.get(f"/api/tvbox/s/{token}/cms/none/cms", params={"ac": "videolist", "wd": "不良"})
    ).json()
    assert [i["vod_name"] for i in unfiltered["list"]] == ["不良内容"]
    assert (await tv.get(f"/api/tvbox/s/{token}/cms/adult/ghost")).status_code == 404
    assert (await tv.get("/api/tvbox/s/bad-token/cms/adult/cms")).status_code == 401
    assert parse_filters("ads+adult") == ("adult", "ads")
    with pytest.raises(ValueError):
        parse_filters("adult,evil")


async def test_categories_facade(inprocess_app, fake_cms: FakeCms, douban_fake: FakeDouban) -> None:
    app, owner = await start(inprocess_app, fake_cms, douban_fake)
    await owner.post(
        "/api/admin/category", json={"action": "add", "name": "日剧精选", "type": "tv", "query": "日剧"}
    )
    token = (await owner.post("/api/admin/tvbox", json={"action": "rotate"})).json()["token"]
    tv = await app.client()
    classes = (await tv.get(f"/api/tvbox/s/{token}/categories")).json()
    assert classes["code"] == 1 and classes["list"] == []
    names = [c["type_name"] for c in classes["class"]]
    assert names[:4] == ["电影·热门", "电影·最新", "电影·经典", "电影·豆瓣高分"]
    assert names[-1] == "日剧精选" and classes["class"][-1]["type_id"] == len(names)
    page = (
        await tv.get(f"/api/tvbox/s/{token}/categories", params={"t": len(names), "pg": 2, "pagesize": 5})
    ).json()
    assert page["page"] == 2 and page["limit"] == 5 and page["pagecount"] == 999
    assert set(page["list"][0]) == {"vod_id", "vod_name", "vod_pic", "vod_year", "vod_remarks"}
    query = douban_fake.requests[-1]["query"]
    assert douban_fake.requests[-1]["path"] == "/rexxar/api/v2/tv/recommend"
    assert query["start"] == "5" and query["count"] == "5" and query["tags"] == "日剧"
    latest = (await tv.get(f"/api/tvbox/s/{token}/categories", params={"t": 2})).json()
    assert latest["code"] == 1
    q = douban_fake.requests[-1]["query"]
    assert q["sort"] == "R" and q["tags"].isdigit()
    assert (await tv.get(f"/api/tvbox/s/{token}/categories", params={"t": 999})).status_code == 404
    # TVBox asks its home site for category pages with ac=detail: still a category page
    browsed = (
        await tv.get(f"/api/tvbox/s/{token}/categories", params={"ac": "detail", "t": 1, "pg": 1})
    ).json()
    assert browsed["list"] and browsed["list"][0]["vod_name"] == "推荐movie0"
    # unreadable detail ids answer an empty list, never an error page
    junk = await tv.get(f"/api/tvbox/s/{token}/categories", params={"ac": "detail", "ids": "1;drop,../x"})
    assert junk.status_code == 200 and junk.json()["list"] == []
    assert (await tv.get(f"/api/tvbox/s/{token}/categories/evil", params={"ids": "1"})).status_code == 400
    assert (await tv.get("/api/tvbox/categories")).status_code == 401
    assert (await tv.get("/api/tvbox/categories", params={"token": token})).status_code == 200
    assert (await owner.get("/api/tvbox/categories")).status_code == 200  # a signed-in session works too
    assert SITE_FIELDS == ("key", "name", "type", "api", "searchable", "quickSearch", "filterable", "ext")
