"""/metrics under `serve --workers 2`: sums over workers, route templates as labels."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.metrics import (
    LATENCY_BUCKETS,
    REQUEST_DURATIONS,
    BatchableHistogram,
    BatchedHistogram,
)
from tests.conftest import settings_env
from tests.support import bearer, insert_user

REQUESTS = 60


def _samples(text: str) -> list[Any]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _access_lines(logs: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "alpine_api.access"]


async def test_metrics_sum_over_workers_and_label_routes_by_template(
    serve: Any, db: asyncpg.Connection
) -> None:
    admin = await insert_user(db, "admin@example.com", is_admin=True)
    server = serve(workers=2, ALPINE_LOG_FORMAT="json")

    def hit(n: int) -> int:
        # A fresh connection each time, so that both workers accept some.
        headers = {"X-Request-ID": f"metrics-{n}"}
        return httpx.get(f"{server.url}/health/live", headers=headers, timeout=5).status_code

    def live_count() -> float:
        samples = _samples(httpx.get(f"{server.url}/metrics", timeout=5).text)
        return sum(
            s.value
            for s in samples
            if s.name == "api_request_duration_seconds_count"
            and s.labels["route"] == "/health/live"
        )

    await asyncio.sleep(REQUEST_DURATIONS.delay + 0.3)  # the start-up probe, counted
    before = live_count()

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(hit, range(REQUESTS))) == {200}
    headers = bearer(admin)
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=5) as client:
        for unknown_id in (987654321, 987654322):
            response = await client.patch(f"/api/admin/users/{unknown_id}", json={})
            assert response.status_code == 404
        assert (await client.get("/api/no/such/route/55555")).status_code == 404
        assert (await client.get("/health")).status_code == 200
        text = (await client.get("/metrics")).text

    samples = _samples(text)
    series = Counter((s.name, tuple(sorted(s.labels.items()))) for s in samples)
    assert [key for key, n in series.items() if n > 1] == []  # Prometheus drops duplicates
    # Each worker writes its request timings at most `delay` after serving them.
    deadline = time.monotonic() + 5
    while True:
        counted = live_count() - before
        if counted >= REQUESTS or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert counted == REQUESTS
    by_worker = Counter(
        line["pid"]
        for line in _access_lines(server.logs())
        if line.get("request_id", "").startswith("metrics-")
    )
    assert len(by_worker) == 2, by_worker  # both workers served some of them
    assert sum(by_worker.values()) == REQUESTS

    routes = {s.labels["route"] for s in samples if s.name.startswith("api_request_duration")}
    assert "/api/admin/users/{user_id}" in routes
    assert "unmatched" in routes
    assert not any(any(c.isdigit() for c in route) for route in routes), routes
    for name in ("db_pool_size", "db_pool_idle_connections"):
        pids = {s.labels["pid"] for s in samples if s.name == name}
        assert len(pids) == 2, (name, pids)  # one series per live worker
    queries = {s.labels["query"] for s in samples if s.name == "db_query_duration_seconds_count"}
    assert "health.ping" in queries  # named by its SQL file
    assert any(s.name == "rate_limit_requests_total" for s in samples)


def test_buckets_resolve_sub_millisecond_latency(serve: Any) -> None:
    server = serve(workers=1)
    for _ in range(5):
        httpx.get(f"{server.url}/health/live", timeout=5)
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    buckets = {
        float(s.labels["le"])
        for s in _samples(text)
        if s.name == "api_request_duration_seconds_bucket"
    }
    assert {0.0001, 0.00025, 0.0005, 0.001} <= buckets
    # Each bound once: a repeated one is a second series of the same name and labels.
    assert list(LATENCY_BUCKETS) == sorted(set(LATENCY_BUCKETS))


async def test_metrics_are_not_rate_limited_or_cached(database_url: str, redis_url: str) -> None:
    env = settings_env(database_url, redis_url, ALPINE_RATE_LIMIT="2/60")
    async with AsyncTestClient(app=create_app(load_settings(env))) as client:
        responses = [await client.get("/metrics") for _ in range(5)]
        limited = [(await client.get("/api/subscriptions/plans")).status_code for _ in range(3)]
    assert limited == [200, 200, 429]  # the limit is real for /api/*
    for response in responses:
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers
        assert "x-cache" not in response.headers
    # Each scrape sees the requests before it: nothing is served from a cache.
    counts = [_metrics_count(r.text) for r in responses]
    assert counts == sorted(counts) and counts[-1] > counts[0]


def _metrics_count(text: str) -> float:
    return sum(
        s.value
        for s in _samples(text)
        if s.name == "api_request_duration_seconds_count" and s.labels["route"] == "/metrics"
    )


async def test_metrics_can_require_an_operator_token(database_url: str, redis_url: str) -> None:
    from litestar.testing import AsyncTestClient

    from alpine_api.app import create_app
    from alpine_api.config import load_settings
    from tests.conftest import settings_env

    token = "operator-token-0123456789"
    env = settings_env(database_url, redis_url, ALPINE_METRICS_TOKEN=token)
    async with AsyncTestClient(app=create_app(load_settings(env))) as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.json()["status_code"] == 401
    assert right.status_code == 200 and "api_request_duration_seconds" in right.text


async def test_batched_observations_expose_what_single_observations_do() -> None:
    """BatchedHistogram writes through BatchableHistogram.add, which relies on how
    prometheus-client keeps a histogram's values: the exposition must not differ. (In an
    event loop, as in a worker: observations wait there for the next flush.)"""
    values = [0.00005, 0.0003, 0.0003, 0.004, 0.7, 3.0, 42.0]
    plain, batched = CollectorRegistry(), CollectorRegistry()
    direct = Histogram("t", "t", ["route"], buckets=LATENCY_BUCKETS, registry=plain)
    batches = BatchedHistogram(
        BatchableHistogram("t", "t", ["route"], buckets=LATENCY_BUCKETS, registry=batched)
    )
    for index, value in enumerate(values):
        route = "/a" if index % 2 else "/b"
        direct.labels(route).observe(value)
        batches.observe((route,), value)
    assert _series(batched) != _series(plain)  # nothing written yet
    batches.flush()
    assert _series(batched) == _series(plain)


def _series(registry: CollectorRegistry) -> list[Any]:
    """Every sample but the `_created` timestamps (they tell the two histograms apart)."""
    text = generate_latest(registry).decode()
    return [s for s in _samples(text) if not s.name.endswith("_created")]
