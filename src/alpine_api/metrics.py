"""Prometheus metrics of the contract, defined once per process.

Under several Granian workers the server sets PROMETHEUS_MULTIPROC_DIR before the
workers start; prometheus-client then writes each worker's values to files there and
/metrics sums them (see `render`). Pool gauges keep one series per worker (pid label).
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class BatchableHistogram(Histogram):
    """A Histogram that also takes many observations in one call (`add`).

    prometheus-client has no public call for that. This subclass is the one place that
    relies on how Histogram keeps its values (the `_upper_bounds`, `_buckets` and `_sum`
    it sets up for itself), and tests/test_metrics.py checks that `add` gives the same
    exposition as `observe`."""

    @property
    def upper_bounds(self) -> list[float]:
        """The buckets' upper bounds, +Inf last."""
        return list(self._upper_bounds)

    def add(self, counts: Sequence[float], total: float) -> None:
        """`counts[i]` more observations in bucket i (not cumulative), `total` more sum."""
        for bucket, count in zip(self._buckets, counts, strict=True):
            if count:
                bucket.inc(count)
        self._sum.inc(total)


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

REQUEST_DURATION = BatchableHistogram(
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
DB_POOL_MAX = Gauge(
    "db_pool_max_size",
    "Most connections this worker's asyncpg pool may open (ALPINE_DB_POOL_MAX).",
    multiprocess_mode="liveall",
)
# Set by every /health and /metrics request, so each scrape carries a fresh verdict;
# across workers the most recent value wins.
HEALTH_CHECK = Gauge(
    "health_check_healthy",
    "1 when the dependency answered the last health probe within its bound, else 0.",
    ["check"],
    multiprocess_mode="livemostrecent",
)
SIGNAL_STREAMS_OPEN = Gauge(
    "signal_streams_open",
    "Open GET /api/signals/stream responses, summed over workers.",
    multiprocess_mode="livesum",
)


class BatchedHistogram:
    """Observations of a labelled histogram, added up in memory and written in batches.

    In multiprocess mode every histogram observation is two writes to the worker's mmap
    file, each under a lock and after a getpid() call: about 10 us, on every request.
    Here an observation is a bisect and two additions; the totals reach the histogram
    (the same series, the same buckets) at most `delay` seconds later, and before
    /metrics renders.
    """

    def __init__(self, histogram: BatchableHistogram, delay: float = 1.0) -> None:
        self.histogram = histogram
        self.delay = delay
        self._bounds = histogram.upper_bounds
        # label values -> [observations per bucket..., sum of values]
        self._pending: dict[tuple[str, ...], list[float]] = {}
        self._flush_on: asyncio.AbstractEventLoop | None = None

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        totals = self._pending.get(labels)
        if totals is None:
            totals = self._pending[labels] = [0.0] * (len(self._bounds) + 1)
        totals[bisect_left(self._bounds, value)] += 1
        totals[-1] += value
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._flush_on is not loop:
            self._flush_on = loop
            loop.call_later(self.delay, self.flush)

    def flush(self) -> None:
        pending, self._pending, self._flush_on = self._pending, {}, None
        for labels, totals in pending.items():
            self.histogram.labels(*labels).add(totals[:-1], totals[-1])


REQUEST_DURATIONS = BatchedHistogram(REQUEST_DURATION)


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics, summed over workers in multiprocess mode, and its
    Content-Type: the text format 0.0.4 (what `generate_latest` writes, legacy names with
    underscores), which Prometheus 2 and 3 both scrape without a fallback."""
    REQUEST_DURATIONS.flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4
    return generate_latest(REGISTRY), CONTENT_TYPE_PLAIN_0_0_4
