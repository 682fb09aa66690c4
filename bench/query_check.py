"""What the strict query check costs each request (http/query.py), in-process CPU.

The production app is built (no servers needed: nothing here reaches PostgreSQL or Redis)
and `query_problem` is timed on the scope of a routed request, for the query strings
requests really carry, side by side with a scope whose query is empty (the common case)
and with parsing alone (`parse_qsl`). Best batch average of many calls, so a busy
machine shows the cost, not its neighbours.

    uv run python -m bench.query_check
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from litestar.routes import HTTPRoute

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.http.query import query_problem
from bench.harness import machine

QUERIES = {
    "no query": b"",
    "limit=20": b"limit=20",
    "four parameters": b"limit=20&cursor=kgHOAAGGoA&min_confidence=0.5&symbol=AAPL",
    "unknown (refused)": b"bust=12345",
}


def _best_us(call: Callable[[], Any], batches: int = 15, size: int = 20_000) -> float:
    best = float("inf")
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(size):
            call()
        best = min(best, (time.perf_counter() - started) / size)
    return best * 1e6


def main() -> None:
    settings = load_settings(
        {
            "ALPINE_DATABASE_URL": "postgresql://bench@127.0.0.1:1/bench",
            "ALPINE_REDIS_URL": "redis://127.0.0.1:1",
            "ALPINE_JWT_SECRET": "bench-" + "x" * 40,
        }
    )
    app = create_app(settings)
    route = next(r for r in app.routes if r.path == "/api/signals/subscribed")
    assert isinstance(route, HTTPRoute)
    handler, _model = route.route_handler_map["GET"]
    print(f"machine: {machine()}")
    print("| query string | query_problem us | parse_qsl alone us |")
    print("|---|---:|---:|")
    for name, query in QUERIES.items():

        def check(query: bytes = query) -> Any:
            # A fresh scope per call: the outcome is kept in the scope's state.
            scope: Any = {"litestar_app": app, "route_handler": handler, "state": {}}
            scope["query_string"] = query
            return query_problem(scope)

        checked = _best_us(check)
        parsed = _best_us(partial(parse_qsl, query.decode("latin-1"), keep_blank_values=True))
        print(f"| {name} | {checked:.2f} | {parsed:.2f} |")


if __name__ == "__main__":
    main()
