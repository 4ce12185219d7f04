"""Item 4 (the parts that are not role checks): admin work is cheap and bounded.

- Base58 decoding is subquadratic, capped and off the event loop;
- a failing subscription check backs off instead of fetching and writing the config each time;
- a plain user's TVBox token rotations do not touch the versioned admin config.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

import pytest

from moontv.config.subscription import BASE58_ALPHABET, MAX_BASE58_CHARS, base58_decode, base58_encode
from tests.abuse.harness import HEALTH_LIMIT_SECONDS, HealthWatch, ServerProcess, report
from tests.abuse.hostile import Hostile
from tests.abuse.test_search import add_user


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile() as server:
        yield server


def test_base58_round_trip_and_cap() -> None:
    rng = random.Random(7)
    for size in (0, 1, 8, 9, 10, 17, 18, 19, 1000, 4099):
        data = bytes([0, 0]) + bytes(rng.randrange(256) for _ in range(size))
        assert base58_encode(data) == fast_base58_encode(data)
        assert base58_decode(base58_encode(data)) == data
    with pytest.raises(ValueError):
        base58_decode("1" * (MAX_BASE58_CHARS + 1))
    with pytest.raises(ValueError):
        base58_decode("abc0")  # 0 is not in the alphabet


def fast_base58_encode(data: bytes) -> str:
    """Base58 by dividing by 58**5 (one machine digit: CPython's fast path), for big fixtures."""
    number = int.from_bytes(data, "big")
    groups = []
    while number:
        number, rest = divmod(number, 58**5)
        groups.append(rest)
    digits = []
    for group in groups:  # least significant first
        for _ in range(5):
            group, digit = divmod(group, 58)
            digits.append(BASE58_ALPHABET[digit])
    text = "".join(reversed(digits)).lstrip("1")
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + text


def big_subscription(target_chars: int) -> str:
    """A Base58 subscription of about ``target_chars`` characters (many sources)."""
    entry = len(
        json.dumps({"k0000": {"name": "源0000", "api": "https://cms0000.example.com/api.php/provide/vod"}})
    )
    count = int(target_chars / 1.37 / entry)
    sites = {
        f"k{n:04d}": {"name": f"源{n:04d}", "api": f"https://cms{n:04d}.example.com/api.php/provide/vod"}
        for n in range(count)
    }
    body = fast_base58_encode(json.dumps({"api_site": sites}, ensure_ascii=False).encode())
    assert base58_decode(body[:2000]) is not None
    return body


def test_big_base58_subscription_does_not_block(
    server_factory: Callable[..., ServerProcess], hostile: Hostile
) -> None:
    """Base code: a 243,000-character Base58 body froze the event loop for over 30 s on a loaded machine
    (quadratic decode on the loop); 120,000 characters keep this test quick."""
    body = big_subscription(120_000)
    assert len(body) <= MAX_BASE58_CHARS
    hostile.files["/sub.txt"] = body.encode()
    server = server_factory()
    admin = server.login()
    with HealthWatch(server.url) as watch:
        response = admin.post(
            "/api/admin/subscription",
            json={"action": "import", "subscriptionUrl": f"{hostile.url}/sub.txt", "importMode": "merge"},
        )
    report(f"{len(body)} character Base58 subscription import", watch, server)
    assert response.status_code == 200, response.text
    assert response.json()["count"] > 900
    assert watch.worst < HEALTH_LIMIT_SECONDS, watch.latencies


def test_failing_subscription_check_backs_off(
    server_factory: Callable[..., ServerProcess], hostile: Hostile
) -> None:
    """Base code: every check re-fetched and wrote the config (version 10 -> 31 after 21 checks)."""
    server = server_factory()
    admin = server.login()
    settings = {
        "action": "update",
        "subscriptionUrl": f"{hostile.url}/missing.txt",
        "autoUpdate": True,
        "updateInterval": 3600,
        "importMode": "merge",
    }
    assert admin.post("/api/admin/subscription", json=settings).status_code == 200
    before = admin.get("/api/admin/subscription").json()["version"]
    for _ in range(10):
        admin.post("/api/admin/subscription", json={"action": "check"})
    after = admin.get("/api/admin/subscription").json()
    fetches = hostile.requests.count("/missing.txt")
    report(
        f"10 checks of a failing subscription: {fetches} fetch(es), version {before} -> {after['version']}"
    )
    assert fetches == 1
    assert after["version"] - before == 1
    assert after["subscriptionConfig"]["failures"] == 1


def test_tvbox_token_rotations_leave_the_admin_config_alone(
    server_factory: Callable[..., ServerProcess],
) -> None:
    """Base code: 10 self-service rotations bumped the admin config version by 10 (47 -> 57)."""
    server = server_factory(MOONTV_TVBOX_ENABLED="true")
    admin = server.login()
    add_user(admin, "carol")
    carol = server.login("carol", "pw-123")
    before = admin.get("/api/admin/subscription").json()["version"]
    tokens = []
    for _ in range(10):
        response = carol.post("/api/tvbox/token", json={"action": "rotate"})
        assert response.status_code == 200, response.text
        tokens.append(response.json()["token"])
    after = admin.get("/api/admin/subscription").json()["version"]
    report(f"10 TVBox token rotations: admin config version {before} -> {after}")
    assert after == before
    assert carol.get("/api/tvbox/token").json()["token"]["active"] is True
    # only the latest token works
    assert server.client().get("/api/tvbox/config", params={"token": tokens[-1]}).status_code == 200
    assert server.client().get("/api/tvbox/config", params={"token": tokens[0]}).status_code in (401, 403)
    # a new account with the same name does not inherit the deleted account's token
    assert (
        admin.post("/api/admin/user", json={"action": "deleteUser", "targetUsername": "carol"}).status_code
        == 200
    )
    add_user(admin, "carol")
    assert server.client().get("/api/tvbox/config", params={"token": tokens[-1]}).status_code in (401, 403)
