"""No state change on GET: every GET route, called as the owner with plausible parameters, leaves
storage untouched (every write method of the storage protocol is recorded). Found by walking the routes,
so a route added later is covered."""

from __future__ import annotations

import inspect
from typing import Any

from moontv.storage.protocol import Storage
from tests.security.routewalk import DEAD, DEAD_API, enable_tvbox, plausible, routes, signed_link

READS = ("get_", "list_", "user_exists", "ping", "open", "close")
WRITES = sorted(
    name
    for name, member in inspect.getmembers(Storage)
    if inspect.iscoroutinefunction(member) and not name.startswith(READS)
)


def test_the_protocol_has_the_writes_we_expect() -> None:
    assert {"set_play_record", "delete_user", "set_admin_config", "clear_all_data", "incr_counter"} <= set(
        WRITES
    )


async def test_no_get_route_writes_to_storage(inprocess_app: Any) -> None:
    app = await inprocess_app(
        {"a": DEAD_API},
        refresh_interval=0,
        douban_base=DEAD,
        douban_m_base=DEAD,
        bangumi_base=DEAD,
    )
    token = await enable_tvbox(app, "admin")
    owner = await app.client(as_user="admin")
    await owner.post("/api/playrecords", json={"key": "a+1", "record": _record()})

    writes: list[str] = []
    for name in WRITES:
        original = getattr(app.state.storage, name)

        def recorder(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            writes.append(_name)
            return _original(*args, **kwargs)

        setattr(app.state.storage, name, recorder)

    walked = []
    for route in routes(app):
        if route.method != "GET":
            continue
        params = plausible(route, source="a")
        if route.path in ("/api/proxy/segment", "/api/proxy/key"):
            params = signed_link(app, route.path.rsplit("/", 1)[1], "a", "admin")
        answer = await owner.get(route.url(token=token, key="a"), params=params)
        assert answer.status_code < 500 or answer.status_code in (502, 503, 504), (route, answer.text)
        assert writes == [], (route.path, writes)
        walked.append(route.path)
    assert {"/", "/api/playrecords", "/api/admin/config", "/api/cron/status", "/api/tvbox/config"} <= set(
        walked
    )


def _record() -> dict[str, Any]:
    return {
        "title": "t",
        "source_name": "s",
        "index": 1,
        "total_episodes": 2,
        "play_time": 1,
        "total_time": 9,
    }
