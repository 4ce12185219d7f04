"""The two signed formats: session tokens (``auth/tokens.py``) and stream-proxy links
(``StreamService.sign``). Each refuses tampering, truncation, a wrong key, expiry and a token
made with another algorithm, and none of that raises (a hostile cookie is a 401, never a 500)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import orjson

from moontv.auth.tokens import TokenSigner
from moontv.streams.netguard import NetGuard
from moontv.streams.service import StreamService

KEY = b"k" * 32
NOW = 1_800_000_000.0
JWT_NONE = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
JWT_HS256 = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(payload: dict[str, Any], mac: bytes) -> str:
    body = b64(orjson.dumps(payload))
    return f"{body}.{b64(mac)}"


def claims(token: str) -> dict[str, Any]:
    body = token.split(".")[0]
    return dict(orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def test_session_token_round_trip_and_tampering() -> None:
    signer = TokenSigner(KEY, ttl_seconds=3600)
    token = signer.issue("alice", 3, now=NOW)
    verified = signer.verify(token, now=NOW + 10)
    assert verified is not None and (verified.username, verified.epoch) == ("alice", 3)
    body, signature = token.split(".")
    payload = claims(token)
    elevated = b64(orjson.dumps({**payload, "u": "admin"}))
    bad = [
        f"{elevated}.{signature}",  # payload changed, signature kept
        f"{body}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # one signature character
        f"{body[:-2]}.{signature}",  # truncated payload
        f"{body}.{signature[:22]}",  # truncated signature (a 128-bit prefix)
        f"{body}.",
        f".{signature}",
        body,
        f"{body}.{signature}.{signature}",
        "",
        "x" * 5000,
        f"{body}.{signature[:-1]}é",  # non-ASCII: compare_digest would raise on it
        f"{body}é.{signature}",
    ]
    for token_text in bad:
        assert signer.verify(token_text, now=NOW + 10) is None, token_text


def test_session_token_wrong_key_expiry_and_algorithms() -> None:
    signer = TokenSigner(KEY, ttl_seconds=3600)
    token = signer.issue("alice", 3, now=NOW)
    assert TokenSigner(b"j" * 32, ttl_seconds=3600).verify(token, now=NOW) is None
    assert signer.verify(token, now=NOW + 3599) is not None
    assert signer.verify(token, now=NOW + 3600) is None  # expiry is inside the signed payload
    payload = claims(token)
    body = b64(orjson.dumps(payload))
    # The algorithm is fixed by the server, never read from the token: other MACs over the same
    # body, an unsigned JWT-style token and a JWT header naming HS256 are all refused.
    others = [
        forged(payload, hmac.new(KEY, body.encode(), hashlib.sha1).digest()),
        forged(payload, hmac.new(KEY, body.encode(), hashlib.sha512).digest()),
        forged(payload, hashlib.sha256(body.encode()).digest()),  # a bare hash, no key
        forged(payload, hmac.new(b"", body.encode(), hashlib.sha256).digest()),  # empty key
        f"{JWT_NONE}.{body}.",
        f"{JWT_HS256}.{body}.{b64(hmac.new(KEY, body.encode(), hashlib.sha256).digest())}",
    ]
    for token_text in others:
        assert signer.verify(token_text, now=NOW) is None, token_text
    # The stream-link key is derived for its purpose: its MACs are not session signatures.
    derived = hmac.new(KEY, b"moontv/stream-proxy/v1", hashlib.sha256).digest()
    assert (
        signer.verify(forged(payload, hmac.new(derived, body.encode(), hashlib.sha256).digest()), now=NOW)
        is None
    )


def test_session_tokens_below_the_minimum_key_length_are_refused_at_start() -> None:
    try:
        TokenSigner(b"short", ttl_seconds=60)
    except ValueError:
        return
    raise AssertionError("a 5-byte secret was accepted")


async def test_stream_links_refuse_tampering_truncation_wrong_key_and_expiry() -> None:
    service = StreamService(guard=NetGuard(), secret=KEY, timeout=5)
    other = StreamService(guard=NetGuard(), secret=b"j" * 32, timeout=5)
    try:
        expires = int(time.time()) + 600
        link = ("segment", "a", "https://cdn.example/x.ts", "alice")
        signature = service.sign(*link, expires)
        assert service.verify(*link, str(expires), signature)
        refused = [
            (*link, str(expires), signature[:-1]),  # truncated
            (*link, str(expires), signature[:11]),
            (*link, str(expires), signature + "A"),
            (*link, str(expires), signature[:-1] + "é"),  # non-ASCII signature
            (*link, "١٢٣٤٥٦٧٨٩٠", signature),  # non-ASCII digits pass str.isdigit()
            (*link, str(expires) + "0", signature),  # a later expiry is another message
            (*link, "9" * 13, signature),
            (*link, "-1", signature),
            (*link, "", signature),
            ("segment", "a", "https://cdn.example/x.ts\nalice", "bob", str(expires), signature),
        ]
        for args in refused:
            assert not service.verify(*args), args
        assert not other.verify(*link, str(expires), signature)
        past = int(time.time()) - 1
        assert not service.verify(*link, str(past), service.sign(*link, past))
        # Another algorithm over the same message and key is not accepted.
        message = f"segment\na\nhttps://cdn.example/x.ts\nalice\n{expires}".encode()
        derived = hmac.new(KEY, b"moontv/stream-proxy/v1", hashlib.sha256).digest()
        assert b64(hmac.new(derived, message, hashlib.sha256).digest()[:16]) == signature
        for digest in (hashlib.sha1, hashlib.md5, hashlib.sha512):
            assert not service.verify(
                *link, str(expires), b64(hmac.new(derived, message, digest).digest()[:16])
            )
        assert not service.verify(
            *link, str(expires), b64(hmac.new(KEY, message, hashlib.sha256).digest()[:16])
        )
    finally:
        await service.aclose()
        await other.aclose()


def test_hostile_session_cookies_are_401_not_500(live_app: Any) -> None:
    server = live_app()
    signed_in = server.login()
    token = signed_in.cookies["auth"]
    signed_in.close()
    body, signature = token.split(".")
    for value in (f"{body}.{signature[:-1]}é", f"{body}.{signature[:10]}", "a.b.c", "%00"):
        with server.client() as client:
            answer = client.get("/api/playrecords", headers={"Cookie": f"auth={value}".encode()})  # type: ignore[dict-item]
            assert answer.status_code == 401, (value, answer.status_code)
            bearer = client.get("/api/playrecords", headers={"Authorization": f"Bearer {value}".encode()})  # type: ignore[dict-item]
            assert bearer.status_code == 401, (value, bearer.status_code)
