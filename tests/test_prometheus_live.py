"""A real Prometheus (Debian's 2.42) scrapes a real `serve --workers 2` with the rules of
deploy/prometheus/rules: every metric the rules select is exported, the rules evaluate
without error, and stopping Valkey raises RedisUnhealthy and RateLimiterFailingOpen."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from alpine_api.embedded import EmbeddedValkey, free_port
from tests.support import ServerProcess, bearer, insert_user

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
CACHED_READS = (
    "/api/signals/subscribed",
    "/api/users/profile",
    "/api/auth/me",
    "/api/admin/analytics",
    "/api/admin/revenue",
)
DEADLINE_SECONDS = 60.0


def selected_metrics() -> set[str]:
    """Names of the exported series the rules select (recorded series have a colon; `up`
    and `ALERTS` come from Prometheus itself)."""
    names: set[str] = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                names |= set(re.findall(r"\b([a-z_][a-z0-9_]*)\{", rule["expr"]))
    return names - {"up"}


class Prometheus:
    """A Prometheus server scraping one target every second, evaluating the rules."""

    def __init__(self, root: Path, target: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in RULE_FILES],
            "scrape_configs": [
                {"job_name": "alpine-api", "static_configs": [{"targets": [target]}]}
            ],
        }
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.skip("prometheus is missing (Debian: apt-get install prometheus)")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(root / "prometheus.log").open("wb"),
        )

    def query(self, expr: str) -> list[dict[str, Any]]:
        try:
            response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        except httpx.HTTPError:
            return []
        return response.json()["data"]["result"] if response.status_code == 200 else []

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = httpx.get(f"{self.url}/api/v1/rules", timeout=5).json()[
            "data"
        ]["groups"]
        return groups

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def eventually(check: Callable[[], Any], what: str, traffic: Callable[[], None]) -> Any:
    """Poll `check` (sending `traffic` in between) until it gives something truthy."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (found := check()):
        assert time.monotonic() < deadline, f"not seen within {DEADLINE_SECONDS} s: {what}"
        traffic()
        time.sleep(0.5)
    return found


async def test_rules_evaluate_on_the_real_service_and_alert_when_valkey_stops(
    serve: Any, db: asyncpg.Connection, private_valkey: EmbeddedValkey, tmp_path: Path
) -> None:
    valkey = private_valkey
    admin = await insert_user(db, "admin@example.com", is_admin=True, tier="elite")
    server: ServerProcess = serve(workers=2, ALPINE_REDIS_URL=valkey.url)
    prometheus = Prometheus(tmp_path, f"127.0.0.1:{server.port}")
    headers = bearer(admin)

    def cached_reads() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=5) as client:
            for path in CACHED_READS:
                assert client.get(path).status_code == 200

    try:
        for name in sorted(selected_metrics()):
            eventually(lambda n=name: prometheus.query(n), f"series {name}", cached_reads)
        routes = {
            series["metric"]["route"]
            for series in eventually(
                lambda: prometheus.query("job_route:api_requests:rate5m"),
                "job_route:api_requests:rate5m",
                cached_reads,
            )
        }
        assert set(CACHED_READS) <= routes, routes
        pools = eventually(
            lambda: prometheus.query("instance_pid:db_pool_connections_in_use:ratio"),
            "pool use",
            cached_reads,
        )
        assert all(0 <= float(p["value"][1]) <= 1 for p in pools)
        eventually(
            lambda: prometheus.query("slo:api_cached_read_slow:ratio_rate5m >= 0"),
            "cached-read latency SLI",
            cached_reads,
        )
        healthy = prometheus.query("health_check_healthy")
        assert {s["metric"]["check"]: s["value"][1] for s in healthy} == {
            "database": "1",
            "redis": "1",
        }
        assert prometheus.query("ALERTS") == []
        for group in prometheus.rule_groups():
            for rule in group["rules"]:
                assert rule["health"] == "ok", rule

        valkey.stop()

        def api_requests() -> None:  # limited requests whose decision Redis cannot make
            httpx.get(f"{server.url}/api/subscriptions/plans", headers=headers, timeout=5)

        for alert in ("RedisUnhealthy", "RateLimiterFailingOpen"):
            eventually(
                lambda a=alert: prometheus.query(f'ALERTS{{alertname="{a}"}}'),
                f"{alert} pending",
                api_requests,
            )
        assert prometheus.query('health_check_healthy{check="redis"}')[0]["value"][1] == "0"
    finally:
        prometheus.stop()
