"""Hostile input against real PostgreSQL and Valkey: injection, IDOR, privilege, forged
tokens, brute force, CORS, oversized and pathological bodies, and what answers may reveal.

Every answer a test here receives also passes `assert_reveals_nothing`: no password hash,
no secret, no stack trace, no SQL, no server path, whatever the request was.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from alpine_api.app import create_app
from alpine_api.auth.current import admin_guard
from alpine_api.config import load_settings
from alpine_api.signals.schemas import SYMBOL_PATTERN
from tests.conftest import settings_env
from tests.support import DEFAULT_PASSWORD, JWT_SECRET, NO_LIMITS, bearer, insert_user, token_for

Client = AsyncTestClient[Litestar]

# What no answer may contain, whatever was asked.
FORBIDDEN = [
    re.compile(p)
    for p in (
        r"password_hash",
        r"\$argon2",
        re.escape(JWT_SECRET),
        r"Traceback",
        r'File "',
        r"\bSELECT\b.*\bFROM\b",
        r"\bINSERT INTO\b",
        r"\bUPDATE\b \w+ \bSET\b",
        r"asyncpg",
        r"psycopg",
        r"/site-packages/",
        r"alpine_api/",
        r"\.py\b",
    )
]

SQL_INJECTION = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "1; DROP TABLE users; --",
    "' UNION SELECT email, password_hash FROM users --",
    "'); SELECT pg_sleep(3); --",
    "%' OR email LIKE '%",
    "admin@example.com' --",
    '" OR ""="',
    "\\'; TRUNCATE notifications; --",
    "$1",
]
# Values that reach PostgreSQL's limits: bigint overflow, NaN/Infinity, NUL bytes.
OUT_OF_RANGE = [
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999999",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "\x00",
    "a\x00b",
    "0x7fffffff",
]
HOSTILE = SQL_INJECTION + OUT_OF_RANGE


def assert_reveals_nothing(response: httpx.Response, *sent: str) -> None:
    """No 5xx, and nothing of FORBIDDEN in the answer except what the request itself
    carried (`sent`: a validation message may quote the offending input back)."""
    assert response.status_code < 500, (response.status_code, response.text)
    text = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    for value in sent:
        for form in (value, quote(value, safe=""), json.dumps(value)[1:-1]):
            text = text.replace(form, "")
    for pattern in FORBIDDEN:
        assert not pattern.search(text), (pattern.pattern, response.text[:500])


@pytest.fixture
async def client(database_url: str, redis_url: str) -> AsyncIterator[Client]:
    """The app with rate limits out of the way (tests here send many requests)."""
    env = settings_env(database_url, redis_url, **NO_LIMITS)
    async with AsyncTestClient(app=create_app(load_settings(env))) as test_client:
        yield test_client


async def _snapshot(db: asyncpg.Connection) -> dict[str, Any]:
    """Everything a request might damage, to compare before and after."""
    return {
        table: [tuple(r) for r in await db.fetch(f"SELECT * FROM {table} ORDER BY id")]
        for table in ("users", "signals", "notifications", "subscriptions", "payments")
    }


# -- SQL injection and out-of-range values -------------------------------------------------


async def test_hostile_query_and_path_values_never_500_or_leak(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = await insert_user(db, "root@example.com", is_admin=True, tier="elite")
    victim = await insert_user(db, "victim@example.com", tier="elite")
    await db.execute(
        "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
        " confidence, tier, is_active) VALUES ('SECRET', 'long', 1, 2, 0.5, 0.9, 'elite', true)"
    )
    await db.execute(
        "INSERT INTO notifications (user_id, kind, title, body)"
        " VALUES ($1, 'system', 'private', 'for the victim only')",
        victim,
    )
    caller = await insert_user(db, "mallory@example.com")  # starter: sees no elite signal
    before = await _snapshot(db)
    requests: list[tuple[str, str, dict[str, str], str]] = []
    for raw in HOSTILE:
        value = quote(raw, safe="")
        for query in ("symbol", "min_confidence", "limit", "cursor"):
            requests.append(
                ("GET", f"/api/signals/subscribed?{query}={value}", bearer(caller), raw)
            )
        for query in ("unread", "limit", "cursor"):
            requests.append(("GET", f"/api/notifications?{query}={value}", bearer(caller), raw))
        for query in ("symbol", "is_active", "cursor"):
            requests.append(("GET", f"/api/signals?{query}={value}", bearer(admin), raw))
        for query in ("tier", "is_active", "limit", "cursor"):
            requests.append(("GET", f"/api/admin/users?{query}={value}", bearer(admin), raw))
        requests += [
            ("GET", f"/api/signals/{value}", bearer(caller), raw),
            ("POST", f"/api/notifications/{value}/read", bearer(caller), raw),
            ("PATCH", f"/api/admin/users/{value}", bearer(admin), raw),
            ("PATCH", f"/api/signals/{value}", bearer(admin), raw),
        ]
    for method, path, headers, raw in requests:
        body = {"is_active": True} if method == "PATCH" else None
        response = await client.request(method, path, headers=headers, json=body)
        assert_reveals_nothing(response, raw)
        assert response.status_code in (200, 400, 404), (path, response.text)
        if response.status_code == 200 and path.startswith("/api/signals/subscribed"):
            assert response.json()["items"] == [], path  # the elite signal never leaks
        if response.status_code == 200 and path.startswith("/api/notifications"):
            assert response.json()["items"] == [], path
    # Out-of-range ids are refused as input, not looked up.
    for raw in ("9223372036854775808", "99999999999999999999999999", "0", "-1"):
        for method, path in (
            ("GET", f"/api/signals/{raw}"),
            ("POST", f"/api/notifications/{raw}/read"),
            ("PATCH", f"/api/admin/users/{raw}"),
        ):
            response = await client.request(method, path, headers=bearer(admin), json={})
            assert response.status_code == 400, (path, response.text)
    assert await _snapshot(db) == before


async def test_hostile_body_fields_are_refused_or_stored_verbatim(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = await insert_user(db, "root@example.com", is_admin=True)
    user = await insert_user(db, "mallory@example.com")
    other = await insert_user(db, "bystander@example.com", full_name="Bystander")
    signal_id = await db.fetchval(
        "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
        " confidence) VALUES ('AAPL', 'long', 1, 2, 0.5, 0.5) RETURNING id"
    )
    symbols = 0
    for raw in HOSTILE:
        has_nul = "\x00" in raw
        # Free text: stored exactly as sent (bound parameters make it inert), or 400 for NUL.
        response = await client.patch(
            "/api/users/profile", json={"full_name": raw}, headers=bearer(user)
        )
        assert_reveals_nothing(response, raw)
        stored = await db.fetchval("SELECT full_name FROM users WHERE id = $1", user)
        if has_nul:
            assert response.status_code == 400 and "full_name" in response.text
        else:
            assert response.status_code == 200, response.text
            assert response.json()["full_name"] == raw == stored

        response = await client.patch(
            f"/api/signals/{signal_id}", json={"note": raw}, headers=bearer(admin)
        )
        assert_reveals_nothing(response, raw)
        if has_nul:
            assert response.status_code == 400 and "note" in response.text
        else:
            assert response.json()["note"] == raw

        fields: list[tuple[str, str, dict[str, Any]]] = [
            ("/api/auth/login", "email", {"email": raw, "password": DEFAULT_PASSWORD}),
            ("/api/auth/login", "password", {"email": "victim@example.com", "password": raw}),
            ("/api/auth/register", "email", {"email": raw, "password": DEFAULT_PASSWORD}),
            ("/api/subscriptions", "tier", {"tier": raw}),
            (
                "/api/signals",
                "symbol",
                {
                    "symbol": raw,
                    "direction": "long",
                    "entry_price": 1,
                    "target_price": 2,
                    "stop_loss": 0.5,
                    "confidence": 0.5,
                },
            ),
        ]
        for path, field, body in fields:
            response = await client.post(path, json=body, headers=bearer(admin))
            assert_reveals_nothing(response, raw)
            if field == "symbol" and re.fullmatch(SYMBOL_PATTERN, raw):  # digits are a symbol
                assert response.status_code == 201 and response.json()["symbol"] == raw.upper()
                symbols += 1
                continue
            assert response.status_code in (400, 401), (path, field, raw, response.text)
            if response.status_code == 400:
                assert field in response.text, (path, field, response.text)
    # Numbers PostgreSQL cannot hold are refused before they reach it.
    for number in ("1e309", "-1e309", "1e400", "9223372036854775808", "1e12"):
        body = (
            '{"symbol": "X", "direction": "long", "entry_price": ' + number + ","
            ' "target_price": 2, "stop_loss": 1, "confidence": 0.5}'
        )
        response = await client.post(
            "/api/signals",
            content=body,
            headers={**bearer(admin), "Content-Type": "application/json"},
        )
        assert_reveals_nothing(response)
        assert response.status_code == 400, response.text
        if "e3" not in number and "e4" not in number:  # the JSON parser's own overflow
            assert "entry_price" in response.text, response.text  # names no field
    for literal in ("NaN", "Infinity", "-Infinity"):
        response = await client.patch(
            f"/api/signals/{signal_id}",
            content='{"confidence": ' + literal + "}",
            headers={**bearer(admin), "Content-Type": "application/json"},
        )
        assert_reveals_nothing(response)
        assert response.status_code == 400, response.text
    assert await db.fetchval("SELECT full_name FROM users WHERE id = $1", other) == "Bystander"
    assert await db.fetchval("SELECT count(*) FROM users") == 3
    assert await db.fetchval("SELECT count(*) FROM signals") == 1 + symbols
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0


# -- object-level and function-level authorization -----------------------------------------


async def test_another_users_notification_or_subscription_is_404(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await insert_user(db, "alice@example.com")
    bob = await insert_user(db, "bob@example.com")
    hers = await db.fetchval(
        "INSERT INTO notifications (user_id, kind, title, body)"
        " VALUES ($1, 'system', 'Alice only', 'private') RETURNING id",
        alice,
    )
    subscribed = await client.post(
        "/api/subscriptions", json={"tier": "elite"}, headers=bearer(alice)
    )
    assert subscribed.status_code == 201

    response = await client.post(f"/api/notifications/{hers}/read", headers=bearer(bob))
    assert response.status_code == 404
    unknown = await client.post("/api/notifications/987654/read", headers=bearer(bob))
    assert unknown.status_code == 404
    assert response.json()["detail"] == unknown.json()["detail"]  # existence not revealed
    assert (await client.get("/api/notifications", headers=bearer(bob))).json()["items"] == []
    read_all = await client.post("/api/notifications/read-all", headers=bearer(bob))
    assert read_all.json() == {"updated": 0}
    assert await db.fetchval("SELECT is_read FROM notifications WHERE id = $1", hers) is False

    assert (await client.get("/api/subscriptions/me", headers=bearer(bob))).status_code == 404
    assert (await client.delete("/api/subscriptions/me", headers=bearer(bob))).status_code == 404
    profile = (await client.get("/api/users/profile", headers=bearer(bob))).json()
    assert profile["subscription"] is None and profile["tier"] == "starter"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM subscriptions WHERE user_id = $1 AND status = 'active'", alice
        )
        == 1
    )
    assert await db.fetchval("SELECT tier::text FROM users WHERE id = $1", alice) == "elite"


def _admin_operations(app: Litestar) -> list[tuple[str, str]]:
    """(method, path) of every route guarded by admin_guard, path ids filled with 1."""
    operations = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if admin_guard not in handler.resolve_guards():
                continue
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            operations += [(method, path) for method in handler.http_methods]
    return sorted(operations)


async def test_every_admin_route_is_401_anonymous_and_403_for_a_user(
    client: Client, db: asyncpg.Connection
) -> None:
    user = await insert_user(db, "plain@example.com", tier="elite")
    operations = _admin_operations(client.app)
    assert len(operations) >= 7  # analytics, revenue, users list/patch, signals list/create/patch
    before = await _snapshot(db)
    for method, path in operations:
        body = {"is_active": False, "is_admin": True} if method in ("PATCH", "POST") else None
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        forbidden = await client.request(method, path, json=body, headers=bearer(user))
        assert forbidden.status_code == 403, (method, path)
        assert_reveals_nothing(forbidden)
    assert await _snapshot(db) == before


async def test_anonymous_input_is_not_parsed_401_comes_first(client: Client) -> None:
    """Without a valid user, malformed parameters and bodies are not looked at."""
    for method, path, body in (
        ("GET", "/api/signals/subscribed?cursor=%27&limit=0", None),
        ("GET", "/api/signals/-1", None),
        ("GET", "/api/notifications?unread=maybe", None),
        ("POST", "/api/notifications/99999999999999999999/read", None),
        ("POST", "/api/subscriptions", {"tier": "' OR 1=1 --"}),
        ("PATCH", "/api/users/profile", {"full_name": 42, "is_admin": True}),
    ):
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


# -- forged tokens ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return jwt.utils.base64url_encode(data).decode()


def _header(alg: str) -> str:
    return _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())


def forged_tokens(user_id: int) -> dict[str, str]:
    """Tokens for `user_id` that must all be refused."""
    now = int(time.time())
    claims = {"sub": str(user_id), "jti": str(uuid.uuid4()), "iat": now, "exp": now + 600}
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    valid = token_for(user_id)
    header, _payload, signature = valid.split(".")
    promoted = _b64(json.dumps({**claims, "sub": str(user_id), "is_admin": True}).encode())
    return {
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "alg none, signature kept": f"{_header('none')}.{valid.split('.')[1]}.{signature}",
        "RS256 with its own key": jwt.encode(claims, private, algorithm="RS256"),
        "HS256 keyed with an RSA public key": _hs256_raw(claims, public_pem),
        "altered payload": f"{header}.{promoted}.{signature}",
        "expired": jwt.encode(
            {**claims, "iat": now - 7200, "exp": now - 60}, JWT_SECRET, algorithm="HS256"
        ),
        "iat in the future beyond leeway": jwt.encode(
            {**claims, "iat": now + 600, "exp": now + 4200}, JWT_SECRET, algorithm="HS256"
        ),
        "HS512 with the right secret": jwt.encode(claims, JWT_SECRET, algorithm="HS512"),
        "sub not a number": jwt.encode(
            {**claims, "sub": "1 OR 1=1"}, JWT_SECRET, algorithm="HS256"
        ),
        "empty": "",
        "garbage": "a.b.c",
    }


def _hs256_raw(claims: dict[str, Any], key: bytes) -> str:
    """HS256 signed with `key` (PyJWT refuses PEM keys as HMAC secrets; attackers do not)."""
    signing_input = f"{_header('HS256')}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 forgery
async def test_forged_tokens_are_401_even_for_an_admin(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = await insert_user(db, "root@example.com", is_admin=True)
    for name, token in forged_tokens(admin).items():
        for method, path in (("GET", "/api/auth/me"), ("GET", "/api/admin/analytics")):
            response = await client.request(
                method, path, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, (name, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert_reveals_nothing(response)
    assert (await client.get("/api/admin/analytics", headers=bearer(admin))).status_code == 200


# -- brute force ------------------------------------------------------------------------------


async def test_login_brute_force_is_limited_per_ip(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    await insert_user(db, "target@example.com")
    app = create_app(load_settings(settings_env(database_url, redis_url)))  # 10 per 60 s
    async with AsyncTestClient(app=app) as client:
        statuses = []
        for attempt in range(10):
            wrong = {"email": "target@example.com", "password": f"guess-{attempt:04d}"}
            statuses.append((await client.post("/api/auth/login", json=wrong)).status_code)
        assert statuses == [401] * 10
        # Now even the right password, another account, a token or a forged
        # X-Forwarded-For (no trusted proxy is configured) get no further attempt.
        right = {"email": "target@example.com", "password": DEFAULT_PASSWORD}
        for headers in ({}, {"X-Forwarded-For": "203.0.113.9"}, bearer(1)):
            response = await client.post("/api/auth/login", json=right, headers=headers)
            assert response.status_code == 429, response.text
            assert int(response.headers["retry-after"]) >= 1
            assert "access_token" not in response.text
        other = {"email": "someone@example.com", "password": "whatever-123"}
        assert (await client.post("/api/auth/login", json=other)).status_code == 429


# -- CORS ----------------------------------------------------------------------------------


async def test_cors_never_reflects_an_unknown_origin(client: Client) -> None:
    hostile = [
        "https://evil.example",
        "null",
        "http://localhost:3000.evil.example",
        "http://evil.localhost:3000",
        "https://localhost:3000",
        "http://localhost:30000",
        "http://LOCALHOST:3000@evil.example",
    ]
    for origin in hostile:
        preflight = await client.options(
            "/api/auth/me",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
        simple = await client.get("/api/subscriptions/plans", headers={"Origin": origin})
        for response in (preflight, simple):
            assert "access-control-allow-origin" not in response.headers, origin
            assert_reveals_nothing(response)
    allowed = await client.get(
        "/api/subscriptions/plans", headers={"Origin": "http://localhost:3000"}
    )
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"


# -- bodies: huge, deep, never read whole ----------------------------------------------------


async def test_deep_or_huge_json_is_400_and_the_service_keeps_answering(
    client: Client, db: asyncpg.Connection
) -> None:
    user = await insert_user(db, "mallory@example.com")
    bodies = {
        "deep array": "[" * 100_000 + "]" * 100_000,
        "deep object": '{"a":' * 50_000 + "1" + "}" * 50_000,
        "deep in a field": '{"full_name": ' + "[" * 60_000 + "]" * 60_000 + "}",
        "huge array": "[" + ",".join(["1"] * 400_000) + "]",
        "huge string of a wrong field": '{"x": "' + "y" * 900_000 + '"}',
        "many keys": "{" + ",".join(f'"k{i}": {i}' for i in range(60_000)) + "}",
        "truncated": '{"full_name": "abc',
        "not utf-8": b'{"full_name": "\xff\xfe"}',
        "duplicate keys": '{"full_name": "a", "full_name": "b", "full_name": "' + "c" * 30 + '"}',
    }
    for name, body in bodies.items():
        response = await client.patch(
            "/api/users/profile",
            content=body,
            headers={**bearer(user), "Content-Type": "application/json"},
        )
        assert_reveals_nothing(response)
        if name == "duplicate keys":  # valid JSON: the last value wins, as in most parsers
            assert response.status_code == 200, response.text
            continue
        assert response.status_code in (400, 413), (name, response.status_code, response.text)
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/api/auth/me", headers=bearer(user))).status_code == 200


def _post_head(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _upload(port: int, head: bytes, chunks: int, chunk: bytes) -> tuple[bytes, int]:
    """Send `head` then up to `chunks` chunks; return the answer and the chunks sent
    before it came (stops sending as soon as the server answers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        sock.setblocking(False)
        answer = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            if b"\r\n\r\n" in answer:
                break
            if sent < chunks:
                try:
                    sock.sendall(chunk)
                    sent += 1
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    time.sleep(0.01)
            else:
                time.sleep(0.01)
        return answer, sent


async def test_body_over_one_mib_is_413_before_the_upload_completes(
    serve, db: asyncpg.Connection
) -> None:  # type: ignore[no-untyped-def]
    user = await insert_user(db, "mallory@example.com")
    server = serve(workers=1, **NO_LIMITS)
    auth = bearer(user)["Authorization"]
    chunk = b"x" * 65536
    total_chunks = 640  # a 40 MiB upload; socket buffers alone take several MiB
    declared = _post_head(
        server.port,
        "/api/users/profile",
        {
            "Authorization": auth,
            "Content-Type": "application/json",
            "Content-Length": str(len(chunk) * total_chunks),
        },
    ).replace(b"POST", b"PATCH", 1)
    answer, sent = await asyncio.to_thread(_upload, server.port, declared, total_chunks, chunk)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < total_chunks // 2, sent  # answered long before 40 MiB went in

    # Without a Content-Length (chunked), the count stops it at the limit all the same.
    head = _post_head(
        server.port,
        "/api/auth/register",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    answer, sent = await asyncio.to_thread(_upload, server.port, head, total_chunks, framed)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < total_chunks // 2, sent
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/auth/me", headers={"Authorization": auth})).status_code == 200
