"""TVBox with its own parser: a Java harness using real Gson walks our subscription like the app.

The harness (tests/clients/java/TvboxReplay.java) is compiled at test time. It reads the config with
the original TVBox's unguarded calls, then fetches the home site's class list, three category pages and
a detail, and every searchable site's class list, search and detail, binding each answer to beans with
TVBox's field types. Contracts: docs/clients.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.clients.world import DOUBAN_MATCH, World

JAVA_DIR = Path(__file__).parent / "java"
GSON_JARS = (Path("/usr/share/java/gson.jar"), Path("/usr/share/java/google-gson.jar"))


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    javac, java = shutil.which("javac"), shutil.which("java")
    gson = next((jar for jar in GSON_JARS if jar.is_file()), None)
    if javac is None or java is None or gson is None:
        pytest.fail(
            "the TVBox harness needs a JDK and Gson "
            "(apt-get install default-jdk-headless libgoogle-gson-java)"
        )
    out = tmp_path_factory.mktemp("tvbox-java")
    subprocess.run(
        [javac, "-encoding", "UTF-8", "-cp", str(gson), "-d", str(out), str(JAVA_DIR / "TvboxReplay.java")],
        check=True,
        timeout=180,
    )
    return [java, "-Dfile.encoding=UTF-8", "-cp", f"{out}:{gson}", "TvboxReplay"]


def replay(harness: list[str], config_url: str, keyword: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([*harness, config_url, keyword], capture_output=True, timeout=180)
    assert done.stdout, done.stderr.decode(errors="replace")
    return done.returncode, json.loads(done.stdout.decode("utf-8"))


def enable(world: World) -> str:
    owner = world.server.login()
    assert owner.post("/api/admin/tvbox", json={"action": "enable"}).status_code == 200
    return str(owner.post("/api/admin/tvbox", json={"action": "rotate"}).json()["token"])


def test_tvbox_loads_the_config_and_every_site_answer(world: World, harness: list[str]) -> None:
    token = enable(world)
    status, seen = replay(harness, f"{world.url}/api/tvbox/config?token={token}", "流浪星球")
    assert status == 0, seen
    assert seen["errors"] == []
    config = seen["config"]
    assert [s["key"] for s in config["sites"]] == ["douban_custom", "a", "b"]
    assert config["ijk"] and config["ads"] == [] and config["parses"] == 0

    home = seen["home"]
    assert home["key"] == "douban_custom"
    assert [name for _, name in home["classes"][:2]] == ["电影·热门", "电影·最新"]
    for page in home["pages"]:  # ?ac=detail&t=<class>&pg=1 is a category page, not a detail lookup
        assert page["videos"], page
        assert all(v["name"] and v["pic"].startswith("https://") for v in page["videos"])
    first_card = home["pages"][0]["videos"][0]
    assert first_card["name"] == DOUBAN_MATCH and first_card["year"] == 2010
    detail = home["detail"]["videos"]
    assert [v["name"] for v in detail] == [DOUBAN_MATCH]
    lines = detail[0]["flags"]
    assert [line["flag"] for line in lines] == ["源a"]  # only source a has this title
    assert [name for name, _ in lines[0]["episodes"]] == ["第01集", "第02集"]
    assert lines[0]["episodes"][0][1] == "https://vip.ffzy-play.example.com/50/ep01/index.m3u8"

    for key in ("a", "b"):
        site = seen["sites"][key]
        assert len(site["classes"]) > 3
        hits = site["search"]["videos"]
        assert "流浪星球" in [v["name"] for v in hits]
        played = site["detail"]["videos"][0]
        assert played["flags"] and all(line["episodes"] for line in played["flags"])
        assert all(url.startswith("https://") for _, url in played["flags"][0]["episodes"])


def test_filtered_subscription_goes_through_our_proxies(world: World, harness: list[str]) -> None:
    token = enable(world)
    status, seen = replay(harness, f"{world.url}/api/tvbox/config?token={token}&filter=adult,ads", "流浪星球")
    assert status == 0, seen
    assert seen["errors"] == []
    apis = {s["key"]: s["api"] for s in seen["config"]["sites"]}
    assert apis["douban_custom"].endswith(f"/api/tvbox/s/{token}/categories/adult+ads")
    assert apis["a"].endswith(f"/api/tvbox/s/{token}/cms/adult+ads/a")
    # the Douban card's episodes and a source's episodes both play through the ad-filtering route
    for episodes in (
        seen["home"]["detail"]["videos"][0]["flags"][0]["episodes"],
        seen["sites"]["a"]["detail"]["videos"][0]["flags"][0]["episodes"],
    ):
        url = urlsplit(episodes[0][1])
        assert url.path.startswith(f"/api/tvbox/s/{token}/m3u8/a")
        assert parse_qs(url.query)["url"][0].endswith("index.m3u8")


def test_base64_variant_is_not_for_the_original_tvbox(world: World, harness: list[str]) -> None:
    """The official app does not decode base64: the plain JSON URL is the one to give it."""
    token = enable(world)
    status, seen = replay(harness, f"{world.url}/api/tvbox/config?token={token}&format=base64", "x")
    assert status == 2 and seen["error"].startswith("解析配置失败")
