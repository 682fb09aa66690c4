"""Prometheus metrics of the contract, defined once per process.

Under several Granian workers the server sets PROMETHEUS_MULTIPROC_DIR before the
workers start; prometheus-client then writes each worker's values to files there and
/metrics sums them (see `render`). Pool gauges keep one series per worker (pid label).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Sub-millisecond resolution at the bottom: a cached request takes well under 1 ms.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

REQUEST_DURATION = Histogram(
    "api_request_duration_seconds",
    "HTTP request duration, by route template.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
DB_QUERY_DURATION = Histogram(
    "db_query_duration_seconds",
    "Duration of one named SQL query (the sql/ file's name).",
    ["query"],
    buckets=LATENCY_BUCKETS,
)
CACHE_HITS = Counter("redis_cache_hits_total", "Responses served from the Redis cache.", ["cache"])
CACHE_MISSES = Counter(
    "redis_cache_misses_total", "Responses computed because the cache had none.", ["cache"]
)
CACHE_ERRORS = Counter(
    "redis_cache_errors_total", "Cache operations that failed because Redis did not answer."
)
RATE_LIMIT_REQUESTS = Counter(
    "rate_limit_requests_total", "Requests checked by the rate limiter.", ["policy"]
)
RATE_LIMIT_EXCEEDED = Counter(
    "rate_limit_exceeded_total", "Requests rejected with 429.", ["policy"]
)
RATE_LIMIT_UNAVAILABLE = Counter(
    "rate_limit_unavailable_total",
    "Rate-limit decisions Redis could not make (let through when failing open, else 503).",
    ["policy"],
)
DB_POOL_SIZE = Gauge(
    "db_pool_size", "Connections open in this worker's asyncpg pool.", multiprocess_mode="liveall"
)
DB_POOL_IDLE = Gauge(
    "db_pool_idle_connections",
    "Idle connections in this worker's asyncpg pool.",
    multiprocess_mode="liveall",
)


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics, summed over workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
