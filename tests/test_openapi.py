"""The OpenAPI document lists every contract route, accurately."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.enums import ParamType
from litestar.testing import AsyncTestClient

from alpine_api.http.errors import error_details
from alpine_api.pagination import MAX_ROW_ID
from tests.support import bearer, insert_user

Client = AsyncTestClient[Litestar]

# The contract's endpoints: (method, path), path parameters written `{}`.
CONTRACT = {
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/me"),
    ("GET", "/api/users/profile"),
    ("PATCH", "/api/users/profile"),
    ("GET", "/api/signals/subscribed"),
    ("GET", "/api/signals/{}"),
    ("GET", "/api/signals"),
    ("POST", "/api/signals"),
    ("PATCH", "/api/signals/{}"),
    ("GET", "/api/notifications"),
    ("GET", "/api/notifications/unread-count"),
    ("POST", "/api/notifications/{}/read"),
    ("POST", "/api/notifications/read-all"),
    ("GET", "/api/subscriptions/plans"),
    ("GET", "/api/subscriptions/me"),
    ("POST", "/api/subscriptions"),
    ("DELETE", "/api/subscriptions/me"),
    ("GET", "/api/admin/analytics"),
    ("GET", "/api/admin/revenue"),
    ("GET", "/api/admin/users"),
    ("PATCH", "/api/admin/users/{}"),
    ("GET", "/health"),
    ("GET", "/health/live"),
    ("GET", "/metrics"),
}
LOGIN = ("POST", "/api/auth/login")
PUBLIC = {
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("GET", "/api/subscriptions/plans"),
}
WITH_BODY = {
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("PATCH", "/api/users/profile"),
    ("POST", "/api/signals"),
    ("PATCH", "/api/signals/{}"),
    ("POST", "/api/subscriptions"),
    ("PATCH", "/api/admin/users/{}"),
}
# A body that passes validation, so that an anonymous call meets authentication.
VALID_BODIES = {
    ("PATCH", "/api/users/profile"): {"full_name": "Anon"},
    ("POST", "/api/subscriptions"): {"tier": "pro"},
}
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """`{(METHOD, path with {}): (real path, operation)}`."""
    found = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                found[(method.upper(), re.sub(r"\{[^}]*\}", "{}", path))] = (path, item[method])
    return found


def test_every_contract_route_is_documented(document: dict[str, Any]) -> None:
    missing = CONTRACT - set(operations(document))
    assert not missing, missing


def test_bearer_scheme_and_security_match_the_contract(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["BearerToken"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for key, (_, operation) in operations(document).items():
        if key[1].startswith("/api/"):
            secured = operation.get("security") == [{"BearerToken": []}]
            assert secured == (key not in PUBLIC), key
            # Login is public and answers 401 to wrong credentials.
            assert ("401" in operation["responses"]) == (secured or key == LOGIN), key
        if key in PUBLIC or not key[1].startswith("/api/"):
            assert operation["security"] == [], key  # said, not left to a default


def test_every_operation_documents_bodies_and_errors(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["required"]) == {"status_code", "detail"}
    for key, (_, operation) in operations(document).items():
        responses = operation["responses"]
        assert {"400", "500"} <= set(responses), key
        success = [code for code in responses if code.startswith("2")]
        assert success, key
        for code in success:
            if code != "204":
                assert responses[code]["content"], key
        if key[1].startswith("/api/"):
            assert {"429", "503"} <= set(responses), key
        if key in WITH_BODY:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body, key
            assert "413" in responses, key
        if "{}" in key[1]:
            assert "404" in responses, key
        for code, response in responses.items():
            if code[0] in "45":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (key, code)


async def test_documented_security_is_enforced(client: Client, document: dict[str, Any]) -> None:
    """Each operation the document marks as needing a token answers 401 without one."""
    for key, (path, operation) in operations(document).items():
        if not operation.get("security"):
            continue
        url = re.sub(r"\{[^}]*\}", "1", path)
        body = VALID_BODIES.get(key, {}) if "requestBody" in operation else None
        response = await client.request(key[0], url, json=body)
        assert response.status_code == 401, (key, response.status_code, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer"), key


async def test_documented_400_for_an_unknown_query_parameter(
    client: Client, document: dict[str, Any]
) -> None:
    """Every operation documents 400 because every route refuses an unknown query
    parameter: the public GET operations show it without a token."""
    public_gets = [
        path
        for (method, _), (path, operation) in operations(document).items()
        if method == "GET" and operation.get("security") == [] and "{" not in path
    ]
    assert "/api/subscriptions/plans" in public_gets
    for path in public_gets:
        response = await client.get(path, params={"unknown": "1"})
        assert response.status_code == 400, (path, response.status_code)
        assert "unknown" in response.text, path


async def test_interactive_docs_are_served(client: Client) -> None:
    response = await client.get("/schema")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


def test_one_typed_error_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    extra = schemas["Error"]["properties"]["extra"]
    assert extra == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ErrorDetail"},
        "description": extra["description"],
    }
    assert schemas["ErrorDetail"]["required"] == ["message"]


async def test_examples_are_fixed(client: Client, document: dict[str, Any]) -> None:
    """No generated examples (they changed on every start and broke their own schemas):
    the only example is the Error schema's, written by hand."""

    def examples(node: Any, where: str = "#") -> list[str]:
        if isinstance(node, dict):
            found = [where] if "examples" in node or "example" in node else []
            for key, value in node.items():
                if key not in ("examples", "example"):
                    found += examples(value, f"{where}/{key}")
            return found
        if isinstance(node, list):
            return [e for i, item in enumerate(node) for e in examples(item, f"{where}/{i}")]
        return []

    assert examples(document) == ["#/components/schemas/Error"]


async def test_cursor_and_ids_mean_what_the_document_says(
    client: Client, document: dict[str, Any], db: asyncpg.Connection
) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    parameters = {
        p["name"]: p["schema"] for p in document["paths"]["/api/admin/users"]["get"]["parameters"]
    }
    assert parameters["cursor"]["minLength"] == 1
    empty = await client.get("/api/admin/users?cursor=", headers=admin)
    assert empty.status_code == 400 and "cursor" in empty.text
    (path_id,) = document["paths"]["/api/signals/{signal_id}"]["get"]["parameters"]
    assert (path_id["schema"]["minimum"], path_id["schema"]["maximum"]) == (1, MAX_ROW_ID)
    for value, status in [(MAX_ROW_ID, 404), (MAX_ROW_ID + 1, 400), (0, 400), (2**63, 400)]:
        response = await client.get(f"/api/signals/{value}", headers=admin)
        assert response.status_code == status, (value, response.text)
        if status == 400:
            (detail,) = response.json()["extra"]
            assert detail["key"] == "signal_id" and detail["source"] == "path", detail


def test_operation_ids_are_the_handler_names(document: dict[str, Any]) -> None:
    """Generated clients name their functions after operationIds: short, unique ones."""
    ids = [operation["operationId"] for _, operation in operations(document).values()]
    assert len(ids) == len(set(ids)), ids
    assert {"login", "register", "list_subscribed", "admin_update_user"} <= set(ids)


def test_error_extra_always_has_the_documented_shape() -> None:
    """Whatever an exception carries as `extra`, the body's `extra` is ErrorDetail items."""
    litestar_item = {"message": "Expected `int`", "key": "limit", "source": ParamType.QUERY}
    assert error_details([litestar_item]) == [
        {"message": "Expected `int`", "key": "limit", "source": "query"}
    ]
    assert error_details({"limit": "too big"}) == [{"key": "limit", "message": "too big"}]
    assert error_details("bad") == [{"message": "bad"}]
    assert error_details([{"key": "x"}]) == [{"message": "{'key': 'x'}"}]
