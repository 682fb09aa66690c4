"""GET /health, /health/live and /metrics."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable
from typing import Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException

from alpine_api import metrics
from alpine_api.http.openapi import ERRORS_OPT
from alpine_api.operations import queries
from alpine_api.services import Services, services

CHECK_TIMEOUT_SECONDS = 1.0

CheckStatus = Literal["healthy", "unhealthy"]


class HealthChecks(msgspec.Struct):
    database: CheckStatus
    redis: CheckStatus  # a cluster is healthy when it reports cluster_state:ok
    # Present only when ALPINE_DATABASE_REPLICA_URL is set; its reads fall back to the
    # primary, so a lost replica degrades the service rather than failing it.
    replica: CheckStatus | msgspec.UnsetType = msgspec.UNSET


class Health(msgspec.Struct):
    status: Literal["healthy", "degraded", "unhealthy"]
    checks: HealthChecks


class Liveness(msgspec.Struct):
    status: Literal["ok"]


async def _check(probe: Awaitable[Any]) -> CheckStatus:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception:  # any failure or timeout means unhealthy; the probe must not raise
        return "unhealthy"
    return "healthy"


async def _probe(svc: Services) -> HealthChecks:
    """Every dependency at once, each bounded; the verdicts also go to `health_check_healthy`."""
    replica = svc.reads.replica
    probes = [_check(queries.ping(svc.db)), _check(svc.redis.check_ready())]
    if replica is not None:
        probes.append(_check(queries.ping(replica)))
    database, redis, *replica_status = await asyncio.gather(*probes)
    checks = HealthChecks(database=database, redis=redis)
    if replica_status:
        checks.replica = replica_status[0]
    for name, status in msgspec.structs.asdict(checks).items():
        if status is not msgspec.UNSET:
            metrics.HEALTH_CHECK.labels(check=name).set(status == "healthy")
    return checks


@get("/health", tags=["operations"], summary="Readiness: database and Redis, each bounded")
async def health(request: Request) -> Response[Health]:  # type: ignore[type-arg]
    checks = await _probe(services(request))
    if checks.database == "unhealthy":
        status, code = "unhealthy", 503
    elif checks.redis == "healthy" and checks.replica != "unhealthy":
        status, code = "healthy", 200
    else:
        status, code = "degraded", 200
    body = Health(status=status, checks=checks)  # type: ignore[arg-type]
    return Response(body, status_code=code, headers={"Cache-Control": "no-store"})


@get("/health/live", tags=["operations"], summary="Liveness: the process runs")
async def live() -> Liveness:
    return Liveness(status="ok")


@get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics, summed over workers",
    description="Needs `Authorization: Bearer <ALPINE_METRICS_TOKEN>` when that is set.",
    media_type="text/plain",
    opt={ERRORS_OPT: (401,)},
)
async def prometheus_metrics(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    svc = services(request)
    if svc.settings.metrics_token:
        expected = f"Bearer {svc.settings.metrics_token}".encode()
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise NotAuthorizedException(
                detail="Metrics need the operator token", headers={"WWW-Authenticate": "Bearer"}
            )
    svc.db.record_pool_gauges()
    await _probe(svc)
    body, content_type = metrics.render()
    # As a header, not `media_type`: Litestar appends its own charset to a text/ media
    # type, and a parameter given twice makes strict parsers (Prometheus 3) refuse it.
    return Response(body, headers={"Content-Type": content_type})


route_handlers = [health, live, prometheus_metrics]
