"""HTTP hygiene shared by every route: request ids, access log and request metrics,
one error shape, CORS, compression, the body size limit and the OpenAPI document.

`create_app` passes the configuration objects (and the `refuse_bad_query` hook: unknown
or repeated query parameters are a 400) to Litestar and calls
`install(app, authenticated=..., admin_guard=...)`.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.types import Guard

from alpine_api.http.config import COMPRESSION, MAX_BODY_BYTES, cors_config
from alpine_api.http.docs import docs_assets
from alpine_api.http.errors import EXCEPTION_HANDLERS, error_response
from alpine_api.http.middleware import observe_requests
from alpine_api.http.openapi import BEARER, document_errors, openapi_config
from alpine_api.http.options import answer_full_allow
from alpine_api.http.query import install as install_query_rules
from alpine_api.http.query import refuse_bad_query

__all__ = [
    "BEARER",
    "COMPRESSION",
    "EXCEPTION_HANDLERS",
    "MAX_BODY_BYTES",
    "cors_config",
    "docs_assets",
    "error_response",
    "install",
    "openapi_config",
    "refuse_bad_query",
]


def install(app: Litestar, *, authenticated: Guard, admin_guard: Guard) -> None:
    """Finish a built app: security and error responses in its document (a token where
    `authenticated` stands, 403 where `admin_guard` does), each route's query
    parameters, the request observer around it, full `Allow` answers to OPTIONS."""
    document_errors(app, authenticated, admin_guard)
    install_query_rules(app)
    observe_requests(app)
    answer_full_allow(app)
