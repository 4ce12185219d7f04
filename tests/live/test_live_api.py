"""Live TV over real HTTP: sources/channels/EPG in the shape Selene reads, the admin actions,
health, favourites, the live playlist proxy, TVBox's live entries, the SSRF guard."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.clients.contract import BOOL, INT, STR, ListOf, Obj, Opt, Req, assert_shape
from tests.live.guides import CST, guide_bytes
from tests.streams.upstream import Canned, Upstream

PLAYLIST = (
    '#EXTM3U x-tvg-url="{base}/guide.xml.gz"\n'
    '#EXTINF:-1 tvg-id="cctv1" tvg-logo="{base}/logo.png" group-title="央视",CCTV-1 综合\n'
    "#EXTVLCOPT:http-user-agent=ignored-by-the-server\n"
    "{base}/dead/index.m3u8\n"
    '#EXTINF:-1 tvg-id="cctv1" group-title="央视",CCTV-1 综合\n'
    "{base}/live/index.m3u8\n"
    '#EXTINF:-1 group-title="卫视",湖南卫视\n'
    "rtmp://example.invalid/hunan\n"
)
MEDIA = (
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n"
    "#EXTINF:2.0,\nseg7.ts\n#EXTINF:2.0,\nseg8.ts\n"
)


@pytest.fixture(params=["sqlite"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def iptv() -> Upstream:
    with Upstream(None, cors=False) as server:
        base = server.url
        server.canned["/list.m3u"] = Canned(body=PLAYLIST.format(base=base).encode())
        server.canned["/list.txt"] = Canned(
            body=f"央视,#genre#\nCCTV1,{base}/live/index.m3u8\n".encode("gbk")
        )
        server.canned["/live/index.m3u8"] = Canned(
            headers={"Content-Type": "application/vnd.apple.mpegurl"}, body=MEDIA.encode()
        )
        server.canned["/live/seg7.ts"] = Canned(headers={"Content-Type": "video/mp2t"}, body=b"G" * 1880)
        server.canned["/dead/index.m3u8"] = Canned(status=404)
        start = datetime.now(UTC).astimezone(CST).replace(minute=0, second=0, microsecond=0)
        start -= timedelta(hours=2)
        guide = guide_bytes([("cctv1", "CCTV1")], start, hours=6, minutes_per_show=60)
        server.canned["/guide.xml.gz"] = Canned(body=gzip.compress(guide))
        yield server


def _write_lives(tmp_path: Path, iptv: Upstream, **lives: dict[str, str]) -> None:
    lives = lives or {
        "iptv": {"name": "测试直播", "url": f"{iptv.url}/list.m3u", "ua": "MoonTV-Test/1.0"},
        "txt": {"name": "TXT", "url": f"{iptv.url}/list.txt"},
    }
    (tmp_path / "config.json").write_text(json.dumps({"api_site": {}, "lives": lives}), encoding="utf-8")


def _start(live_app, tmp_path: Path, iptv: Upstream, **lives):  # type: ignore[no-untyped-def]
    """The app over real HTTP (for the client contracts and the stream relay)."""
    _write_lives(tmp_path, iptv, **lives)
    return live_app(allow_private_upstreams="127.0.0.1")


async def _start_in_process(inprocess_app, tmp_path: Path, iptv: Upstream, **lives):  # type: ignore[no-untyped-def]
    _write_lives(tmp_path, iptv, **lives)
    return await inprocess_app(allow_private_upstreams="127.0.0.1")


# Selene's models (lib/models/live_source.dart, epg_program.dart; the channel fields its
# live_service.dart builds LiveChannel from): Dart ``json['x'] as T? ?? default`` casts strictly.
SELENE_SOURCE = Obj(
    {
        "key": Opt(STR),
        "name": Opt(STR),
        "url": Opt(STR),
        "ua": Opt(STR),
        "epg": Opt(STR),
        "from": Opt(STR),
        "channelNumber": Opt(INT),
        "disabled": Opt(BOOL),
    }
)
SELENE_CHANNEL = Obj(
    {
        "id": Req(STR),
        "tvgId": Opt(STR),
        "name": Req(STR),
        "logo": Opt(STR),
        "group": Opt(STR),
        "url": Req(STR),
    }
)
SELENE_PROGRAM = Obj({"title": Opt(STR), "start": Opt(STR), "end": Opt(STR), "description": Opt(STR)})
SELENE_EPG = Obj(
    {"tvgId": Opt(STR), "source": Opt(STR), "epgUrl": Opt(STR), "programs": Opt(ListOf(SELENE_PROGRAM))}
)


def test_selene_live_tab_contract(live_app, tmp_path: Path, iptv: Upstream) -> None:
    """Selene's calls (api_service.dart getLiveSources/getLiveChannels/getLiveEpg), its cookie
    handling (the Set-Cookie text before ";", sent as Cookie) and its casts."""
    app = _start(live_app, tmp_path, iptv)
    with app.client() as selene:
        login = selene.post("/api/login", json={"username": "admin", "password": "test"})
        cookie = login.headers["set-cookie"].split(";")[0]
        headers = {"Cookie": cookie, "Accept": "application/json", "Content-Type": "application/json"}
        selene.cookies.clear()
        sources = selene.get("/api/live/sources", headers=headers).json()
        assert_shape(sources, Obj({"data": Req(ListOf(SELENE_SOURCE))}), "GET /api/live/sources")
        data = sources["data"]
        assert [s["key"] for s in data] == ["iptv", "txt"]
        assert data[0]["ua"] == "MoonTV-Test/1.0" and data[0]["from"] == "config"

        channels = selene.get("/api/live/channels", params={"source": "iptv"}, headers=headers).json()
        assert_shape(channels, Obj({"data": Req(ListOf(SELENE_CHANNEL))}), "GET /api/live/channels")
        first = channels["data"][0]
        assert first["name"] == "CCTV-1 综合" and first["tvgId"] == "cctv1"
        assert first["urls"] == [f"{iptv.url}/dead/index.m3u8", f"{iptv.url}/live/index.m3u8"]
        assert channels["groups"] == ["央视", "卫视"]
        hunan = channels["data"][1]
        assert hunan["webUrls"] == [] and hunan["url"] == "rtmp://example.invalid/hunan"

        epg = selene.get("/api/live/epg", params={"tvgId": "cctv1", "source": "iptv"}, headers=headers)
        assert_shape(epg.json(), Obj({"data": Req(SELENE_EPG)}), "GET /api/live/epg")
        body = epg.json()["data"]
        assert body["epgUrl"] == f"{iptv.url}/guide.xml.gz"
        programs = body["programs"]
        assert len(programs) == 6
        for item in programs:  # _parseDateTime reads "YYYYMMDDHHMMSS +ZZZZ"
            assert len(item["start"]) == 20 and item["start"][15] in "+-" and item["start"][:14].isdigit()
        now_ms = datetime.now(UTC).timestamp() * 1000
        assert body["now"]["startTs"] <= now_ms < body["now"]["endTs"]
        assert body["now"]["title"] == "CCTV1 节目 2" and body["next"]["title"] == "CCTV1 节目 3"
    # the playlist and the guide were fetched with the source's UA, through the guard
    agents = {r["path"]: r["headers"].get("user-agent") for r in iptv.requests}
    assert agents["/list.m3u"] == "MoonTV-Test/1.0" and agents["/guide.xml.gz"] == "MoonTV-Test/1.0"


async def test_txt_source_and_missing_things(inprocess_app, tmp_path: Path, iptv: Upstream) -> None:
    app = await _start_in_process(inprocess_app, tmp_path, iptv)
    client = await app.login()
    channels = (await client.get("/api/live/channels", params={"source": "txt"})).json()["data"]
    assert [(c["group"], c["name"]) for c in channels] == [("央视", "CCTV1")]
    assert (await client.get("/api/live/channels", params={"source": "nope"})).status_code == 404
    assert (await client.get("/api/live/channels")).status_code == 400
    assert (await client.get("/api/live/epg", params={"source": "iptv", "tvgId": "zzz"})).status_code == 404
    epg = (await client.get("/api/live/epg", params={"source": "txt", "name": "CCTV1"})).json()["data"]
    assert epg["programs"] == [] and epg["now"] is None  # a source without a guide
    assert (
        await client.get("/api/live/epg", params={"source": "iptv", "tvgId": "cctv1", "date": "x"})
    ).status_code == 400
    anonymous = await app.client()
    assert (await anonymous.get("/api/live/sources")).status_code == 401


async def test_admin_actions_refresh_and_health(inprocess_app, tmp_path: Path, iptv: Upstream) -> None:
    app = await _start_in_process(inprocess_app, tmp_path, iptv)
    admin = await app.login()
    add = {"action": "add", "key": "extra", "name": "额外", "url": f"{iptv.url}/list.txt"}
    assert (await admin.post("/api/admin/live", json=add)).status_code == 200
    assert (await admin.post("/api/admin/live", json=add)).status_code == 400  # duplicate key
    bad = {"action": "add", "key": "x", "name": "x", "url": "ftp://x"}
    assert (await admin.post("/api/admin/live", json=bad)).status_code == 400
    assert (await admin.post("/api/admin/live", json={"action": "delete", "key": "iptv"})).status_code == 400
    assert (
        await admin.post("/api/admin/live", json={"action": "sort", "order": ["extra", "txt"]})
    ).status_code == 200
    assert (await admin.post("/api/admin/live", json={"action": "disable", "key": "txt"})).status_code == 200
    keys = [s["key"] for s in (await admin.get("/api/live/sources")).json()["data"]]
    assert keys == ["extra", "iptv"]

    report = (await admin.post("/api/admin/live/refresh", json={})).json()["results"]
    assert report["iptv"]["channels"] == 2 and report["iptv"]["dead"] == 1 and report["iptv"]["alive"] == 1
    listed = {e["key"]: e for e in (await admin.get("/api/admin/live")).json()["lives"]}
    assert listed["iptv"]["channelNumber"] == 2 and listed["iptv"]["health"]["dead"] == 1
    # the dead alternative now sorts last
    first = (await admin.get("/api/live/channels", params={"source": "iptv"})).json()["data"][0]
    assert first["urls"][0] == f"{iptv.url}/live/index.m3u8" and first["url"] == first["urls"][0]
    health = (await admin.get("/api/admin/live/health", params={"source": "iptv"})).json()
    urls = health["channels"][0]["urls"]
    assert urls[0]["ok"] is True and isinstance(urls[0]["latencyMs"], int)
    assert urls[1]["ok"] is False and urls[1]["error"] == "HTTP 404"

    assert (await admin.post("/api/admin/live", json={"action": "delete", "key": "extra"})).status_code == 200
    assert "extra" not in [e["key"] for e in (await admin.get("/api/admin/live")).json()["lives"]]

    # the scheduled refresh does the same for every enabled source
    assert (await admin.post("/api/admin/live", json={"action": "enable", "key": "txt"})).status_code == 200
    summary = await app.state.scheduler.run_once("test")
    assert summary.live == "2/2 ok"
    listed = {e["key"]: e for e in (await admin.get("/api/admin/live")).json()["lives"]}
    assert listed["txt"]["channelNumber"] == 1 and listed["txt"]["health"] == {
        "checked": 1,
        "alive": 1,
        "dead": 0,
    }


async def test_user_allow_list_and_favorites(inprocess_app, tmp_path: Path, iptv: Upstream) -> None:
    app = await _start_in_process(inprocess_app, tmp_path, iptv)
    admin = await app.login()
    assert (
        await admin.post(
            "/api/admin/user", json={"action": "add", "targetUsername": "bob", "targetPassword": "pw123456"}
        )
    ).status_code == 200

    access = {"username": "bob", "keys": ["txt"]}
    assert (await admin.post("/api/admin/live/access", json={**access, "keys": ["nope"]})).status_code == 400
    assert (await admin.post("/api/admin/live/access", json={**access, "username": "zed"})).status_code == 404
    assert (await admin.post("/api/admin/live/access", json=access)).status_code == 200
    bob = await app.login("bob", "pw123456")
    assert [s["key"] for s in (await bob.get("/api/live/sources")).json()["data"]] == ["txt"]
    assert (await bob.get("/api/live/channels", params={"source": "iptv"})).status_code == 404
    channel = (await bob.get("/api/live/channels", params={"source": "txt"})).json()["data"][0]
    fav = {"source": "txt", "channelId": channel["id"], "name": channel["name"]}
    assert (await bob.post("/api/live/favorites", json=fav)).status_code == 200
    assert (await bob.post("/api/live/favorites", json={**fav, "source": "iptv"})).status_code == 404
    assert (await bob.post("/api/live/favorites", json={"source": 1})).status_code == 400
    favs = (await bob.get("/api/live/favorites")).json()["data"]
    assert [(f["key"], f["name"]) for f in favs] == [(f"txt+{channel['id']}", "CCTV1")]
    assert (await admin.get("/api/live/favorites")).json()["data"] == []  # per user
    assert (await bob.delete("/api/live/favorites", params={"key": favs[0]["key"]})).status_code == 200
    assert (await bob.get("/api/live/favorites")).json()["data"] == []
    # an empty list lifts the restriction
    assert (
        await admin.post("/api/admin/live/access", json={"username": "bob", "keys": []})
    ).status_code == 200
    assert [s["key"] for s in (await bob.get("/api/live/sources")).json()["data"]] == ["iptv", "txt"]


def test_live_proxy_relays_only_the_sources_streams(live_app, tmp_path: Path, iptv: Upstream) -> None:
    app = _start(live_app, tmp_path, iptv)
    client = app.login()
    url = f"{iptv.url}/live/index.m3u8"
    answer = client.get("/api/proxy/live", params={"source": "iptv", "url": url})
    assert answer.status_code == 200 and "no-store" in answer.headers["cache-control"]
    lines = [ln for ln in answer.text.splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == 2 and all(ln.startswith("segment?url=") and "&sig=" in ln for ln in lines)
    assert "source=live%3Aiptv" in lines[0]
    segment = client.get("/api/proxy/" + lines[0])
    assert segment.status_code == 200 and segment.content == b"G" * 1880
    seg_agent = [r for r in iptv.requests if r["path"] == "/live/seg7.ts"][-1]["headers"]["user-agent"]
    assert seg_agent == "MoonTV-Test/1.0"
    # a URL that is not one of the source's channels (and carries no signature) is refused
    other = client.get("/api/proxy/live", params={"source": "iptv", "url": f"{iptv.url}/list.m3u"})
    assert other.status_code == 403
    assert client.get("/api/proxy/" + lines[0].replace("&sig=", "&sig=x")).status_code == 403

    def web_off(config):
        config["SiteConfig"]["WebLiveEnabled"] = False

    app.call(app.state.config.update(web_off))
    assert client.get("/api/proxy/live", params={"source": "iptv", "url": url}).status_code == 403
    assert client.get("/api/live/sources").json()["data"]  # TV apps keep working


def test_tvbox_lives_are_token_gated(live_app, tmp_path: Path, iptv: Upstream) -> None:
    app = _start(live_app, tmp_path, iptv)
    owner = app.login()
    owner.post("/api/admin/tvbox", json={"action": "enable"})
    token = owner.post("/api/admin/tvbox", json={"action": "rotate"}).json()["token"]
    with app.client() as tv:
        config = tv.get("/api/tvbox/config", params={"token": token}).json()
        lives = config["lives"]
        assert [e["name"] for e in lives] == ["测试直播", "TXT"]
        assert lives[0]["type"] == 0 and lives[0]["url"].endswith(f"/api/tvbox/s/{token}/live/iptv")
        m3u = tv.get(lives[0]["url"].removeprefix(app.url))
        assert m3u.status_code == 200
        text = m3u.text
        assert text.startswith(f'#EXTM3U x-tvg-url="{iptv.url}/guide.xml.gz"')
        assert "rtmp://example.invalid/hunan" in text and text.count(",CCTV-1 综合\n") == 2
        assert tv.get(f"/api/tvbox/s/{'x' * 32}/live/iptv").status_code == 401


async def test_private_upstreams_are_refused_without_the_allow_list(
    inprocess_app, tmp_path: Path, iptv: Upstream
) -> None:
    lives = {"lan": {"name": "LAN", "url": f"{iptv.url}/list.m3u"}}
    (tmp_path / "config.json").write_text(json.dumps({"lives": lives}), encoding="utf-8")
    app = await inprocess_app(allow_private_upstreams="")
    client = await app.login()
    assert (await client.get("/api/live/channels", params={"source": "lan"})).status_code == 403
    assert iptv.requests == []


async def test_several_guides_and_a_broken_one(inprocess_app, tmp_path: Path, iptv: Upstream) -> None:
    iptv.canned["/multi.m3u"] = Canned(
        body=(
            f'#EXTM3U url-tvg="{iptv.url}/missing.xml, {iptv.url}/broken.xml,{iptv.url}/guide.xml.gz"\n'
            f'#EXTINF:-1 tvg-name="CCTV1",CCTV-1 HD\n{iptv.url}/live/index.m3u8\n'
        ).encode()
    )
    iptv.canned["/broken.xml"] = Canned(body=b"<tv><programme")
    app = await _start_in_process(
        inprocess_app, tmp_path, iptv, multi={"name": "M", "url": f"{iptv.url}/multi.m3u"}
    )
    client = await app.login()
    channels = (await client.get("/api/live/channels", params={"source": "multi"})).json()
    assert channels["epgUrl"].count(",") == 2
    epg = (await client.get("/api/live/epg", params={"source": "multi", "name": "CCTV-1 HD"})).json()["data"]
    assert epg["epgUrl"] == f"{iptv.url}/guide.xml.gz"  # matched by name: no tvg-id in the playlist
    assert len(epg["programs"]) == 6 and epg["now"]["title"] == "CCTV1 节目 2"
