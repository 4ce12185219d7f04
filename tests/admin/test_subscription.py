"""Config subscription: Base58/plain JSON, merge vs overwrite, check-now, schedule, SSRF guard."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from moontv.config.subscription import (
    SubscriptionError,
    base58_decode,
    base58_encode,
    check_url,
    decode_subscription,
    is_due,
)

ALLOW = "127.0.0.1/32"


class Served:
    def __init__(self) -> None:
        self.body = b"{}"
        self.hits = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                served.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(served.body)))
                self.end_headers()
                self.wfile.write(served.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sub.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, data: dict, *, base58: bool = False) -> None:
        raw = json.dumps(data, ensure_ascii=False).encode()
        self.body = base58_encode(raw).encode() if base58 else raw


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served()
    yield s
    s.server.shutdown()
    s.server.server_close()


def sites(*keys: str) -> dict:
    return {
        "api_site": {
            k: {"api": f"https://{k}.example/api.php/provide/vod", "name": f"订阅{k}"} for k in keys
        },
        "custom_category": [{"type": "tv", "query": "ignored"}],
        "cache_time": 1,
    }


def test_base58_codec() -> None:
    for raw in (b"", b"\x00\x00abc", "中文 JSON".encode(), bytes(range(256))):
        if raw:
            assert base58_decode(base58_encode(raw)) == raw
    assert base58_decode("11") == b"\x00\x00"
    with pytest.raises(ValueError):
        base58_decode("abc0")  # 0 is not in the alphabet
    with pytest.raises(ValueError):
        base58_decode(base58_encode(b"x") + "\n")  # no trimming
    encoded = base58_encode(json.dumps(sites("a")).encode())
    assert list(decode_subscription(encoded)) == ["a"]
    assert list(decode_subscription(json.dumps(sites("b")))) == ["b"]
    with pytest.raises(SubscriptionError):
        decode_subscription("not json at all")
    with pytest.raises(SubscriptionError):
        decode_subscription('{"api_site": {"k": {"name": "n", "api": "file:///etc/passwd"}}}')


def test_due_rule() -> None:
    base = {"autoUpdate": True, "subscriptionUrl": "https://x", "updateInterval": 3600}
    assert is_due(base, 1000)
    assert not is_due({**base, "lastUpdated": 1000}, 1000 + 3600)
    assert is_due({**base, "lastUpdated": 1000}, 1000 + 3601)
    assert not is_due({**base, "autoUpdate": False}, 10**10)
    assert not is_due({**base, "subscriptionUrl": ""}, 10**10)


async def test_import_merge_and_overwrite(inprocess_app, served: Served) -> None:
    app = await inprocess_app(
        {"file1": "https://f.example/api"}, allow_private_upstreams=ALLOW, refresh_interval=0
    )
    owner = await app.login()
    await owner.post(
        "/api/admin/source",
        json={"action": "add", "key": "mine", "name": "Mine", "api": "https://m.example/api"},
    )
    served.set(sites("s1", "mine"), base58=True)
    r = await owner.post(
        "/api/admin/subscription",
        json={"action": "import", "subscriptionUrl": served.url, "importMode": "merge"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["imported"] is True and r.json()["count"] == 2
    cfg = (await owner.get("/api/admin/config")).json()["Config"]
    by_key = {s["key"]: s for s in cfg["SourceConfig"]}
    assert list(by_key) == ["file1", "mine", "s1"]
    assert by_key["mine"]["name"] == "订阅mine" and by_key["mine"]["from"] == "config"
    assert by_key["s1"]["from"] == "config"
    assert cfg["SubscriptionConfig"]["lastUpdated"] > 0
    assert cfg["CustomCategories"] == []  # only api_site is imported

    served.set(sites("s2"))
    r = await owner.post(
        "/api/admin/subscription",
        json={"action": "import", "subscriptionUrl": served.url, "importMode": "overwrite"},
    )
    assert r.status_code == 200
    cfg = (await owner.get("/api/admin/config")).json()["Config"]
    assert [s["key"] for s in cfg["SourceConfig"]] == ["s2"]
    assert list(json.loads(cfg["ConfigFile"])["api_site"]) == ["s2"]
    again = await owner.post("/api/admin/subscription", json={"action": "import"})  # the stored URL is used
    assert again.status_code == 200 and again.json()["count"] == 1
    with pytest.raises(SubscriptionError, match="订阅地址未提供"):
        check_url(None)


async def test_update_settings_check_and_schedule(inprocess_app, served: Served) -> None:
    app = await inprocess_app(None, allow_private_upstreams=ALLOW, refresh_interval=0)
    owner = await app.login()
    served.set(sites("auto1"))
    bad = [
        {"importMode": "replace"},
        {"updateInterval": 10},
        {"updateInterval": "x"},
        {"autoUpdate": "yes"},
        {"subscriptionUrl": "ftp://x"},
    ]
    for body in bad:
        assert (
            await owner.post("/api/admin/subscription", json={"action": "update", **body})
        ).status_code == 400, body
    settings = {
        "subscriptionUrl": served.url,
        "autoUpdate": False,
        "updateInterval": 3600,
        "importMode": "merge",
    }
    r = await owner.post("/api/admin/subscription", json={"action": "update", **settings})
    assert r.status_code == 200
    got = (await owner.get("/api/admin/subscription")).json()["subscriptionConfig"]
    assert got["subscriptionUrl"] == served.url and got["updateInterval"] == 3600
    check = (await owner.post("/api/admin/subscription", json={"action": "check"})).json()
    assert check == {"success": True, "updated": False, "reason": "未满足自动更新条件"}
    await owner.post("/api/admin/subscription", json={"action": "update", "autoUpdate": True})
    # the scheduled run imports it (it is due: never updated)
    summary = (await owner.post("/api/cron?wait=1")).json()["summary"]
    assert summary["subscription"] == "imported"
    assert "auto1" in [
        s["key"] for s in (await owner.get("/api/admin/config")).json()["Config"]["SourceConfig"]
    ]
    hits = served.hits
    assert (await owner.post("/api/cron?wait=1")).json()["summary"]["subscription"] == "not_due"
    assert served.hits == hits
    # a check is admin work: it only imports when due
    assert (await owner.post("/api/admin/subscription", json={"action": "check"})).json()["updated"] is False
    await owner.post("/api/admin/user", json={"action": "add", "targetUsername": "u", "targetPassword": "pw"})
    user = await app.login("u", "pw")
    assert (await user.post("/api/admin/subscription", json={"action": "check"})).status_code == 403
    assert (await user.post("/api/admin/subscription", json={"action": "import"})).status_code == 403


async def test_subscription_fetch_goes_through_ssrf_guard(inprocess_app, served: Served) -> None:
    app = await inprocess_app(None, allow_private_upstreams="", refresh_interval=0)  # no private addresses
    owner = await app.login()
    served.set(sites("x"))
    r = await owner.post("/api/admin/subscription", json={"action": "import", "subscriptionUrl": served.url})
    assert r.status_code == 400 and r.json()["error"].startswith("订阅地址被拒绝")
    assert served.hits == 0
    sub = (await owner.get("/api/admin/subscription")).json()["subscriptionConfig"]
    assert sub["lastError"].startswith("订阅地址被拒绝")


async def test_subscription_that_is_not_json_is_refused(inprocess_app, served: Served) -> None:
    served.body = b"<html>not a config</html>"
    owner = await (await inprocess_app(None, allow_private_upstreams=ALLOW, refresh_interval=0)).login()
    r = await owner.post("/api/admin/subscription", json={"action": "import", "subscriptionUrl": served.url})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
