"""The OpenAPI document: bearer security scheme and the error responses of every route.

An operation needs a bearer token where the `authenticated` guard stands and the handler
does not declare itself public (`opt={PUBLIC: True}`, read by that guard);
`document_errors` marks each so (`security: []` for the public ones) and adds,
from what each operation is, the error responses it can give, all with the one error
shape (`Error`):
- every operation: 500; `/api/*` and `/health`: 503 (database or Redis lost);
- `/api/*`: 429 (rate limit); secured: 401; admin-guarded handlers: 403;
- every operation: 400 (an unknown or repeated query parameter is refused on every route,
  see http/query.py; a bad parameter or body too); a path parameter: 404; a body: 413;
- whatever the handler declares in `opt={ERRORS_OPT: (...)}` (409 on a conflict).
Request body schemas get `additionalProperties: false` (unknown fields are a 400), and
204 answers no content.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Litestar
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute
from litestar.types import Guard, Method

from alpine_api.http.docs import docs_plugin

BEARER_SCHEME = "BearerToken"
BEARER: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
# Handler `opt` key listing error statuses of its own: `opt={ERRORS_OPT: (409,)}`.
ERRORS_OPT = "errors"
# Handler `opt` key of a route open to anyone: `opt={PUBLIC: True}`. Litestar's own name
# for it, the one its authentication middleware reads.
PUBLIC = "exclude_from_auth"
_NULL = OpenAPIType.NULL

ERROR_DETAIL_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["message"],
    properties={
        "message": Schema(type=OpenAPIType.STRING, description="What is wrong"),
        "key": Schema(type=OpenAPIType.STRING, description="The field or parameter"),
        "source": Schema(
            type=OpenAPIType.STRING,
            enum=["body", "query", "path", "header", "cookie"],
            description="Where the field was",
        ),
    },
    description="One problem with the request",
)
ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["status_code", "detail"],
    properties={
        "status_code": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "detail": Schema(type=OpenAPIType.STRING),
        "extra": Schema(
            type=OpenAPIType.ARRAY,
            items=Reference("#/components/schemas/ErrorDetail"),
            description="The fields that failed validation, when there are any",
        ),
    },
    description="Every 4xx/5xx response",
    examples=[
        {
            "status_code": 400,
            "detail": "Validation failed for GET /api/signals/subscribed?limit=0",
            "extra": [{"message": "Expected `int` >= 1", "key": "limit", "source": "query"}],
        }
    ],
)

_ERRORS = {
    "400": "Invalid input: `detail` or `extra` names the field",
    "401": "Missing, invalid, expired or revoked token, or inactive user"
    " (`WWW-Authenticate: Bearer`)",
    "403": "Authenticated, but not allowed (admin only)",
    "404": "Not found, or not visible to this user",
    "409": "Conflict with the current state (`detail` says which)",
    "413": "Request body over 1 MiB",
    "429": "Rate limit exceeded (`Retry-After`, `X-RateLimit-*`, `RateLimit` headers)",
    "500": "Unexpected error (logged with the request id)",
    "503": "Database or Redis unreachable (`Retry-After`)",
}


def is_public(handler: BaseRouteHandler) -> bool:
    """Whether a route is open to anyone (`opt={PUBLIC: True}`)."""
    return bool(handler.opt.get(PUBLIC))


def _operation_id(handler: HTTPRouteHandler, method: Method, path: list[Any]) -> str:
    """The handler's function name (`login`, `list_subscribed`), which generated clients
    name their functions after; unique across the API (the linter checks it)."""
    return handler.handler_name


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        operation_id_creator=_operation_id,
        title="alpine-api",
        version="0.1.0",
        description="Trading signals for starter, pro and elite subscribers.",
        render_plugins=[docs_plugin()],
        components=Components(
            security_schemes={
                BEARER_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="Access token from POST /api/auth/login",
                )
            }
        ),
    )


def _error_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={
            "application/json": OpenAPIMediaType(schema=Reference("#/components/schemas/Error"))
        },
    )


def _codes(path: str, operation: Operation, guarded: bool, declared: tuple[int, ...]) -> list[str]:
    api = path.startswith("/api/")
    wanted = {
        "400": True,
        "401": bool(operation.security),
        "403": guarded,
        "404": "{" in path,
        "413": operation.request_body is not None,
        "429": api,
        "500": True,
        "503": api or path == "/health",
    }
    wanted.update({str(code): True for code in declared})
    return [code for code, applies in wanted.items() if applies]


def _close_body(document: OpenAPI, operation: Operation) -> None:
    """Request bodies refuse unknown fields (400): say so in their schemas."""
    body = operation.request_body
    if not isinstance(body, RequestBody) or "application/json" not in body.content:
        return
    schema = body.content["application/json"].schema
    if isinstance(schema, Reference) and document.components.schemas:
        schema = document.components.schemas.get(schema.ref.rsplit("/", 1)[-1])
    if isinstance(schema, Schema):
        schema.additional_properties = False


def _collapse(schema: Schema, *, drop_null: bool) -> None:
    """A `oneOf` of one schema (msgspec's `X | UNSET` fields) is that schema, merged with
    the constraints Litestar put beside the `oneOf`. With `drop_null` (parameters: given
    or absent, never null), `X | None` is documented as X."""
    if schema.one_of:
        rest = [
            s
            for s in schema.one_of
            if not (drop_null and isinstance(s, Schema) and s.type == _NULL)
        ]
        if len(rest) == 1 and isinstance(rest[0], Schema):
            for item in dataclasses.fields(rest[0]):
                if getattr(schema, item.name) is None:
                    setattr(schema, item.name, getattr(rest[0], item.name))
            schema.one_of = None
    if drop_null and isinstance(schema.type, list) and _NULL in schema.type:
        types = [t for t in schema.type if t != _NULL]
        schema.type = types[0] if len(types) == 1 else types
        if schema.enum:
            schema.enum = [value for value in schema.enum if value is not None]


def _tidy_parameters(operation: Operation) -> None:
    """Parameters as clients should read them: not nullable, and integer bounds as JSON
    integers (Litestar writes floats, `4.611686018427388e+18`, read as doubles)."""
    for parameter in operation.parameters or ():
        schema = getattr(parameter, "schema", None)
        if not isinstance(schema, Schema):
            continue
        _collapse(schema, drop_null=True)
        if schema.type == OpenAPIType.INTEGER:
            for bound in ("minimum", "maximum"):
                if isinstance(value := getattr(schema, bound), float):
                    setattr(schema, bound, int(value))


def document_errors(app: Litestar, authenticated: Guard, admin_guard: Guard) -> None:
    """Add the error schema and each operation's error responses to the app's document;
    handlers behind `authenticated` need a token unless public, those behind
    `admin_guard` answer 403 to other users."""
    document = app.openapi_schema
    document.components.schemas["Error"] = ERROR_SCHEMA
    document.components.schemas["ErrorDetail"] = ERROR_DETAIL_SCHEMA
    for component in document.components.schemas.values():
        for field in (component.properties or {}).values():
            if isinstance(field, Schema):
                _collapse(field, drop_null=False)
    for route in app.routes:
        if (
            not isinstance(route, HTTPRoute)
            or (item := (document.paths or {}).get(route.path_format or "/")) is None
        ):
            continue
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
                continue
            guards = handler.resolve_guards()
            secured = authenticated in guards and not is_public(handler)
            for method in handler.http_methods:
                operation = getattr(item, method.lower(), None)
                if operation is None:
                    continue
                path = route.path_format
                operation.security = (operation.security or BEARER) if secured else []
                _close_body(document, operation)
                _tidy_parameters(operation)
                responses = operation.responses if operation.responses is not None else {}
                if isinstance(no_content := responses.get("204"), OpenAPIResponse):
                    no_content.content = None
                declared = tuple(handler.opt.get(ERRORS_OPT, ()))
                for code in _codes(path, operation, admin_guard in guards, declared):
                    # Litestar's own 400 has an untyped `extra`: ours replaces it.
                    if code not in responses or code == "400":
                        responses[code] = _error_response(_ERRORS[code])
                operation.responses = responses
