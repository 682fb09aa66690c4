"""Request ids, CORS and compression on the real app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar import Litestar, MediaType, Response, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from tests.support import bearer, insert_user

Client = AsyncTestClient[Litestar]
ALLOWED = "http://localhost:3000"  # the default ALPINE_CORS_ORIGINS


@get("/test/sized/{size:int}", include_in_schema=False)
async def sized(size: FromPath[int]) -> Response[bytes]:
    """A JSON body of exactly `size` bytes."""
    return Response(b'"' + b"a" * (size - 2) + b'"', media_type=MediaType.JSON)


@pytest.fixture
async def sized_client(app: Litestar) -> AsyncIterator[Client]:
    app.register(sized)
    async with AsyncTestClient(app=app) as client:
        yield client


# --- X-Request-ID -------------------------------------------------------------------


async def test_request_id_is_echoed(client: Client) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "req-42.a/b_c"})
    assert response.headers["x-request-id"] == "req-42.a/b_c"


async def test_request_id_is_generated_and_unique(client: Client) -> None:
    first = (await client.get("/health/live")).headers["x-request-id"]
    second = (await client.get("/health/live")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second


@pytest.mark.parametrize(
    "given", [b"x" * 129, b"has space", b"tab\there", "é-accent".encode(), b"", b"nul\x00"]
)
async def test_invalid_request_id_is_replaced(client: Client, given: bytes) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_request_id_of_128_characters_is_kept(client: Client) -> None:
    given = "r" * 128
    assert (await client.get("/health/live", headers={"X-Request-ID": given})).headers[
        "x-request-id"
    ] == given


async def test_request_id_on_errors_and_preflights(client: Client) -> None:
    headers = {"X-Request-ID": "err-1"}
    assert (await client.get("/nope", headers=headers)).headers["x-request-id"] == "err-1"
    assert (await client.delete("/health", headers=headers)).headers["x-request-id"] == "err-1"
    preflight = await client.options(
        "/api/auth/me",
        headers={**headers, "Origin": ALLOWED, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["x-request-id"] == "err-1"


async def test_access_line_carries_request_fields(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    await client.get("/health/live", headers={"X-Request-ID": "log-1"})
    await client.get("/nope", headers={"X-Request-ID": "log-2"})
    out = capsys.readouterr().out
    (live,) = [line for line in out.splitlines() if line.endswith("[log-1]")]
    assert re.search(
        r"alpine_api\.access: GET /health/live 200 route=/health/live duration_ms=", live
    )
    (unknown,) = [line for line in out.splitlines() if line.endswith("[log-2]")]
    assert "GET /nope 404 route=unmatched" in unknown


# --- CORS -----------------------------------------------------------------------------


async def test_preflight_from_allowed_origin(client: Client) -> None:
    response = await client.options(
        "/api/users/profile",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, x-request-id",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "PATCH", "DELETE", "OPTIONS"}  # no route has PUT
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("content-type", "authorization", "x-requested-with", "x-request-id"):
        assert header in allowed


async def test_preflight_from_unknown_origin_is_refused(client: Client) -> None:
    response = await client.options(
        "/api/users/profile",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert response.json()["status_code"] == 400


async def test_preflight_for_a_method_not_listed_is_refused(client: Client) -> None:
    for method in ("TRACE", "PUT"):
        response = await client.options(
            "/api/users/profile",
            headers={"Origin": ALLOWED, "Access-Control-Request-Method": method},
        )
        assert response.status_code == 400, method


async def test_plain_options_allows_every_method_of_the_path(
    client: Client, db: asyncpg.Connection
) -> None:
    """Each documented path answers OPTIONS with exactly its documented methods."""
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    document = (await client.get("/schema/openapi.json")).json()
    for path, item in document["paths"].items():
        url = re.sub(r"\{[^}]*\}", "1", path)
        response = await client.options(url, headers=admin)
        assert response.status_code == 204, (path, response.text)
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        documented = {m.upper() for m in item if m in ("get", "post", "patch", "delete")}
        assert allowed == documented | {"OPTIONS"}, path
    assert "access-control-allow-origin" not in response.headers


async def test_simple_request_from_allowed_origin_exposes_headers(client: Client) -> None:
    response = await client.get("/api/auth/me", headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in response.headers["vary"]
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "ratelimit",
        "ratelimit-policy",
        "retry-after",
        "x-cache",
        "x-request-id",
    } <= exposed


async def test_simple_request_from_unknown_origin_gets_no_allow_origin(client: Client) -> None:
    response = await client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_origins_come_from_configuration(database_url: str, redis_url: str) -> None:
    from alpine_api.app import create_app
    from alpine_api.config import load_settings
    from tests.conftest import settings_env

    env = settings_env(database_url, redis_url, ALPINE_CORS_ORIGINS="https://app.example.com")
    async with AsyncTestClient(app=create_app(load_settings(env))) as client:
        configured = await client.get("/health/live", headers={"Origin": "https://app.example.com"})
        default = await client.get("/health/live", headers={"Origin": ALLOWED})
    assert configured.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in default.headers


# --- Compression ------------------------------------------------------------------------


async def test_gzip_from_1000_bytes_when_accepted(sized_client: Client) -> None:
    gz = {"Accept-Encoding": "gzip"}
    small = await sized_client.get("/test/sized/999", headers=gz)
    large = await sized_client.get("/test/sized/1000", headers=gz)
    assert "content-encoding" not in small.headers
    assert len(small.content) == 999
    assert large.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in large.headers["vary"]
    assert len(large.content) == 1000  # the client decoded it
    assert int(large.headers["content-length"]) < 100


async def test_no_gzip_unless_accepted(sized_client: Client) -> None:
    response = await sized_client.get("/test/sized/5000", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert len(response.content) == 5000


async def test_cached_responses_are_compressed_too(client: Client, db: asyncpg.Connection) -> None:
    """The miss that computed a page and the hits after it send its stored gzip form."""
    user_id = await insert_user(db, "gzip@example.com")
    await db.executemany(
        "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
        " confidence) VALUES ($1, 'long', 100, 110, 95, 0.9)",
        [(f"SYM{i}",) for i in range(20)],
    )
    headers = {**bearer(user_id), "Accept-Encoding": "gzip"}
    first = await client.get("/api/signals/subscribed", headers=headers)
    second = await client.get("/api/signals/subscribed", headers=headers)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    for response in (first, second):
        assert response.headers["content-encoding"] == "gzip"
        assert len(response.json()["items"]) == 20
    assert second.content == first.content


async def test_openapi_document_is_compressed(client: Client) -> None:
    response = await client.get("/schema/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(response.content) / 3
    assert response.json()["openapi"].startswith("3.")
