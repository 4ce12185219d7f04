"""Every API route answers malformed input with a 4xx JSON error, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.inprocess import InProcessApp

HOSTILE_QUERIES = [
    "",
    "q=%FF%FE&id=%00&source=%00&url=javascript:alert(1)&timeout=nan&pg=-1&key=%2B&keyword=",
    "q=" + "x" * 5000 + "&id=" + "9" * 400 + "&source=a&resourceId=a&ep=abc&kind=%E2%80%AE",
    "timeout=1e309&pageSize=-5&pageStart=abc&limit=99999&start=-1&type=../../etc&tag=%0d%0aX-Injected:1",
    "url=file:///etc/passwd&source=__proto__&id=constructor&key=a%2Bb&stream=1&format=base64",
]
HOSTILE_BODIES = [
    b"",
    b"null",
    b"[]",
    b"{",
    b'{"key": {"a": 1}, "record": [], "favorite": 1, "config": "x"}',
    b'{"username": null, "password": ["x"], "newPassword": {}, "keyword": 12, "action": "nope"}',
    b"\xff\xfe\x00",
    b'{"a":' * 2000,
]


@pytest.fixture
def storage_kind() -> str:
    return "sqlite"


def _api_routes(app: InProcessApp) -> list[tuple[str, str]]:
    out = []
    for path, operations in app.app.openapi()["paths"].items():
        if path.startswith("/api/") and "{" not in path:
            out.extend((method.upper(), path) for method in sorted(operations))
    return out


async def test_no_route_answers_500_on_malformed_input(inprocess_app: Any, fake_cms_factory: Any) -> None:
    fake = fake_cms_factory()
    app = await inprocess_app({"a": fake.base_url})
    routes = _api_routes(app)
    assert len(routes) >= 20
    client = await app.login()
    failures = []
    for method, path in routes:
        for query in HOSTILE_QUERIES:
            bodies = HOSTILE_BODIES if method in ("POST", "PUT", "PATCH", "DELETE") else [None]
            for body in bodies:
                response = await client.request(
                    method,
                    f"{path}?{query}" if query else path,
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                if response.status_code >= 500 and response.status_code not in (502, 503, 504):
                    failures.append(
                        (method, path, query[:40], body[:20] if body else body, response.status_code)
                    )
                elif response.status_code >= 400 and response.headers.get("content-type", "").startswith(
                    "application/json"
                ):
                    assert "error" in response.json() or "result" in response.json(), (method, path)
    assert failures == []
