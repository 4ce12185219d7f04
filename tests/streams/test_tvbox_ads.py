"""TVBox's ad filter: episode playlists go through a token-gated route that removes ad blocks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.fake_cms import make_item
from tests.streams.upstream import Upstream


def test_tvbox_ads_filter_serves_cleaned_playlists(
    live_app: Any, fake_cms_factory: Any, cdn: Upstream
) -> None:
    episode = f"{cdn.url}/mid.m3u8"
    fake = fake_cms_factory([make_item(1, "带广告的片", groups=[("m3u8", [("第1集", episode)])])])
    server = live_app({"cms": fake.base_url}, allow_private_upstreams="127.0.0.1/32")
    owner = server.login()
    assert owner.post("/api/admin/tvbox", json={"action": "enable"}).status_code == 200
    token = owner.post("/api/admin/tvbox", json={"action": "rotate"}).json()["token"]
    with server.client() as tv:  # a TVBox player: no cookie, only the token in URLs
        config = tv.get("/api/tvbox/config", params={"token": token, "filter": "ads"}).json()
        site = next(s for s in config["sites"] if s["key"] == "cms")
        listing = tv.get(site["api"], params={"ac": "videolist", "ids": "1"}).json()
        play_url = listing["list"][0]["vod_play_url"]
        label, _, proxied = play_url.partition("$")
        assert label == "第1集" and f"/api/tvbox/s/{token}/m3u8/cms?url=" in proxied
        assert parse_qs(urlsplit(proxied).query)["url"] == [episode]

        playlist = tv.get(proxied)
        assert playlist.status_code == 200, playlist.text
        assert playlist.headers["x-moontv-ads-removed"].startswith("1 blocks")
        segments = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
        assert segments and all(s.startswith(cdn.url) for s in segments)  # segments stay direct
        seconds = sum(
            float(line[8:].rstrip(",")) for line in playlist.text.splitlines() if line.startswith("#EXTINF:")
        )
        assert abs(seconds - 20.0) < 0.5  # the programme only: the 6 s ad is gone

        path = urlsplit(proxied).path
        assert tv.get(path.replace(token, "not-a-token"), params={"url": episode}).status_code == 401
        assert tv.get(path.replace("/cms", "/ghost"), params={"url": episode}).status_code == 404
        assert tv.get(path).status_code == 400
        inner = tv.get(path, params={"url": "http://169.254.169.254/latest.m3u8"})
        assert inner.status_code in (400, 403)
