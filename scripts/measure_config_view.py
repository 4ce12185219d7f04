#!/usr/bin/env python3
"""What the typed admin config view costs, and what the alternative would have cost.

    .venv/bin/python scripts/measure_config_view.py [--runs 7] [--baseline OTHER_CHECKOUT/src]

1. start-up: CPU time (user+sys) and peak RSS of a fresh interpreter doing ``import moontv.app`` and
   ``create_app(settings)``; with --baseline, runs alternate between that source tree and this one.
2. model choice: the extra CPU of defining the view's classes (on top of what the app already imports:
   pydantic, through FastAPI and the settings) as frozen dataclasses vs pydantic models of the same
   fields, and the time to build a view from a document of 60 sources and 200 users.
Prints p50 of --runs fresh processes per row, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PY = sys.executable
SRC = Path(__file__).resolve().parent.parent / "src"

STARTUP = """
import resource, time
t0 = time.process_time()
import moontv.app
from moontv.settings import load_settings
moontv.app.create_app(load_settings(password="measure", username="owner", storage_type="sqlite",
                                    data_dir={db!r}, secret_key=""))
cpu = time.process_time() - t0
print(cpu * 1000, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

PRELUDE = "import fastapi, moontv.settings, moontv.sources.models\n"

PYDANTIC_MODELS = """
from typing import Any, Literal
from pydantic import BaseModel, ConfigDict, Field

class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

class SiteSettings(_M):
    site_name: str = Field("", alias="SiteName")
    announcement: str = Field("", alias="Announcement")
    search_max_page: int | None = Field(None, alias="SearchDownstreamMaxPage")
    cache_time: int = Field(7200, alias="SiteInterfaceCacheTime")
    douban_proxy_type: str = Field("", alias="DoubanProxyType")
    douban_proxy: str = Field("", alias="DoubanProxy")
    douban_image_proxy_type: str = Field("", alias="DoubanImageProxyType")
    douban_image_proxy: str = Field("", alias="DoubanImageProxy")
    disable_yellow_filter: bool = Field(False, alias="DisableYellowFilter")
    danmaku_api_base_url: str = Field("", alias="DanmakuApiBaseUrl")
    tvbox_enabled: bool = Field(False, alias="TVBoxEnabled")
    tvbox_password: str = Field("", alias="TVBoxPassword")
    web_live_enabled: bool = Field(True, alias="WebLiveEnabled")

class SourceEntry(_M):
    key: str
    name: str = ""
    api: str = ""
    detail: str = ""
    origin: str = Field("custom", alias="from")
    disabled: bool = False
    ad_filter: bool | None = Field(None, alias="adFilter")
    proxy_segments: bool | None = Field(None, alias="proxySegments")
    user_agent: str | None = Field(None, alias="userAgent")
    referer: str | None = None

class LiveEntry(_M):
    key: str
    name: str = ""
    url: str = ""
    ua: str = ""
    epg: str = ""
    origin: str = Field("custom", alias="from")
    disabled: bool = False
    channel_number: int = Field(0, alias="channelNumber")

class CategoryEntry(_M):
    name: str | None = None
    type: str = ""
    query: str = ""
    origin: str = Field("custom", alias="from")
    disabled: bool = False

class UserEntry(_M):
    username: str
    role: Literal["owner", "admin", "user"] = "user"
    banned: bool = False
    group: str = ""
    enabled_apis: tuple[str, ...] | None = Field(None, alias="enabledApis")
    enabled_lives: tuple[str, ...] | None = Field(None, alias="enabledLives")

class GroupEntry(_M):
    name: str = ""
    source_keys: tuple[str, ...] = Field((), alias="sourceKeys")
    live_keys: tuple[str, ...] | None = Field(None, alias="liveKeys")

class UserConfig(_M):
    allow_register: bool = Field(False, alias="AllowRegister")
    users: tuple[UserEntry, ...] = Field((), alias="Users")
    groups: tuple[GroupEntry, ...] = Field((), alias="Groups")

class SubscriptionSettings(_M):
    url: str = Field("", alias="subscriptionUrl")
    auto_update: bool = Field(False, alias="autoUpdate")
    update_interval: int | None = Field(None, alias="updateInterval")
    import_mode: str = Field("", alias="importMode")
    last_updated: float | None = Field(None, alias="lastUpdated")
    last_checked: float | None = Field(None, alias="lastChecked")
    failures: int = 0

class AdminConfigView(_M):
    site: SiteSettings = Field(default_factory=SiteSettings, alias="SiteConfig")
    user_config: UserConfig = Field(default_factory=UserConfig, alias="UserConfig")
    sources: tuple[SourceEntry, ...] = Field((), alias="SourceConfig")
    categories: tuple[CategoryEntry, ...] = Field((), alias="CustomCategories")
    lives: tuple[LiveEntry, ...] = Field((), alias="LiveConfig")
    subscription: SubscriptionSettings = Field(
        default_factory=SubscriptionSettings, alias="SubscriptionConfig"
    )
    config_file: str = Field("", alias="ConfigFile")
"""

DOCUMENT = """
document = {
    "ConfigFile": "{}",
    "SiteConfig": {"SiteName": "MoonTV", "Announcement": "hi", "SearchDownstreamMaxPage": 5,
                   "SiteInterfaceCacheTime": 7200, "DoubanProxyType": "direct", "DoubanProxy": "",
                   "DoubanImageProxyType": "server", "DoubanImageProxy": "", "DisableYellowFilter": False,
                   "TVBoxEnabled": True, "TVBoxPassword": "", "WebLiveEnabled": True},
    "UserConfig": {"AllowRegister": True,
                   "Users": [{"username": f"u{i}", "role": "user", "enabledApis": ["s1", "s2"]}
                             for i in range(200)],
                   "Groups": [{"name": "kids", "sourceKeys": ["s1"]}]},
    "SourceConfig": [{"key": f"s{i}", "name": f"S{i}", "api": f"https://cms{i}.example/api.php/provide/vod",
                      "detail": "", "from": "config", "disabled": False} for i in range(60)],
    "CustomCategories": [{"name": "c", "type": "movie", "query": "q", "from": "config", "disabled": False}],
    "LiveConfig": [{"key": "tv", "name": "TV", "url": "https://iptv.example/a.m3u", "ua": "", "epg": "",
                    "from": "custom", "disabled": False, "channelNumber": 0}],
}
"""

# The view reads a field of the wrong type as its default (a hand-edited document must not take the
# site down); in pydantic that is strict mode plus a wrap validator on every field.
LENIENT = PYDANTIC_MODELS.replace(
    """class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)
""",
    """from pydantic import ValidationError, field_validator

class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True, strict=True)

    @field_validator("*", mode="wrap")
    @classmethod
    def _lenient(cls, value, handler, info):
        try:
            return handler(value)
        except ValidationError:
            return cls.model_fields[info.field_name].get_default(call_default_factory=True)
""",
).replace("tuple[", "list[")  # strict mode takes a JSON array only as a list

CHOICES = {
    "frozen dataclasses (moontv.config.view)": (
        "import moontv.config.view as m",
        "m.AdminConfigView.from_document(document)",
        "len(view.users)",
    ),
    "pydantic v2 models, same fields, strict (a wrong type fails the document)": (
        "exec(compile(PYDANTIC_MODELS, 'models', 'exec'))",
        "AdminConfigView.model_validate(document)",
        "len(view.user_config.users)",
    ),
    "pydantic v2 models, same fields, lenient like the view": (
        "exec(compile(LENIENT, 'models', 'exec'))",
        "AdminConfigView.model_validate(document)",
        "len(view.user_config.users)",
    ),
}


def run(code: str, src: Path) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120)
    return [float(v) for v in out.stdout.split()]


def choice_probe(define: str, build: str, users: str) -> str:
    return (
        f"PYDANTIC_MODELS = {PYDANTIC_MODELS!r}\nLENIENT = {LENIENT!r}\n{PRELUDE}{DOCUMENT}\nimport time\n"
        f"t0 = time.process_time()\n{define}\ndefine = time.process_time() - t0\n"
        f"t0 = time.perf_counter()\nfor _ in range(50):\n    view = {build}\n"
        "took = (time.perf_counter() - t0) / 50 * 1e6\n"
        f"assert {users} == 200, 'the variant did not read every user'\n"
        "print(define * 1000, took)\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another checkout's src/ to compare start-up with")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}; runs: {args.runs}\n")

    trees = {"this tree": SRC}
    if args.baseline:
        trees = {"baseline": args.baseline.resolve(), **trees}
    samples: dict[str, list[list[float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name, src in trees.items():
                samples[name].append(run(STARTUP.format(db=str(Path(tmp) / f"{name}{i}.db")), src))
    print("| import moontv.app + create_app() | CPU ms (p50) | peak RSS MiB (p50) |\n|---|---|---|")
    for name, rows in samples.items():
        cpu = statistics.median(r[0] for r in rows)
        rss = statistics.median(r[1] for r in rows)
        print(f"| {name} | {cpu:.0f} | {rss:.1f} |")

    print("\n| view classes | define CPU ms (p50) | build µs, 60 sources + 200 users (p50) |\n|---|---|---|")
    choice_rows: dict[str, list[list[float]]] = {name: [] for name in CHOICES}
    for _ in range(args.runs):
        for name, probe in CHOICES.items():
            choice_rows[name].append(run(choice_probe(*probe), SRC))
    for name, rows in choice_rows.items():
        print(
            f"| {name} | {statistics.median(r[0] for r in rows):.1f} | "
            f"{statistics.median(r[1] for r in rows):.0f} |"
        )
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
