"""Strict query strings: a query parameter that the route does not take, or one given
twice, is a 400 naming it, on every route.

Litestar itself ignores unknown names and keeps one value of a repeated one, so without
this `?limit=1&limit=2` would be answered as one of them while the response cache keyed
it as both, and `?bust=N` would make a new cache entry per N. A request is refused before
its handler (or the request gate's cached fast path, see request_gate.py) runs, so neither
can reach the cache. The check is the app's `before_request` hook: it runs after the
guards (an anonymous request to a user's route is still a 401 before its input is looked
at) and before Litestar parses the parameters.

The names a route takes come from Litestar's own metadata: the kwargs model it builds for
each handler from its signature and its dependencies (the names clients send, aliases
included). Parameters Litestar reads as sequences may repeat.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from litestar import Litestar, Request
from litestar.exceptions import ValidationException
from litestar.routes import HTTPRoute
from litestar.types import Scope

QUERY_RULES = "alpine.query_rules"
CHECKED = "alpine.query_problem"  # where a request's outcome is kept in its scope state
NAME_SHOWN_MAX = 64  # a name is echoed in the error, cut to this length

# handler -> (names it takes, names that may repeat)
Rules = dict[Any, tuple[frozenset[str], frozenset[str]]]


def query_rules(app: Litestar) -> Rules:
    rules: Rules = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, model in route.route_handler_map.values():
                names = frozenset(p.field_alias for p in model.expected_query_params)
                rules[handler] = (names, frozenset(model.sequence_query_parameter_names))
    return rules


def _refusal(name: str, message: str) -> ValidationException:
    shown = name[:NAME_SHOWN_MAX]
    return ValidationException(
        detail=f"{shown}: {message}",
        extra=[{"key": shown, "source": "query", "message": message}],
    )


def query_problem(scope: Scope) -> ValidationException | None:
    """Why this request's query string is refused, or None when it is acceptable. Worked
    out once per request: the gate's fast path asks first, then `refuse_bad_query`."""
    if not scope.get("query_string"):
        return None
    state = scope["state"]
    if CHECKED not in state:
        state[CHECKED] = _problem(scope)
    problem: ValidationException | None = state[CHECKED]
    return problem


def _problem(scope: Scope) -> ValidationException | None:
    query = scope["query_string"]
    rules: Rules = scope["litestar_app"].state[QUERY_RULES]
    rule = rules.get(scope.get("route_handler"))
    if rule is None:  # not an HTTP handler of ours (no such route, a mount): nothing to check
        return None
    names, repeatable = rule
    seen: set[str] = set()
    for name, _value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name not in names:
            return _refusal(name, "unknown query parameter")
        if name in seen and name not in repeatable:
            return _refusal(name, "query parameter given more than once")
        seen.add(name)
    return None


async def refuse_bad_query(request: Request[Any, Any, Any]) -> None:
    """The app's `before_request` hook: 400 for an unknown or repeated query parameter."""
    if (problem := query_problem(request.scope)) is not None:
        raise problem


def install(app: Litestar) -> None:
    """Work out every route's query parameters once, when the app is built."""
    app.state[QUERY_RULES] = query_rules(app)
