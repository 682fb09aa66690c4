"""/metrics as Prometheus sees it: one well-formed Content-Type (each parameter once,
parsed strictly, as Go's mime.ParseMediaType does in Prometheus), and a real scrape by
Debian's Prometheus server reading our series back through its HTTP API."""

from __future__ import annotations

import email.message
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from alpine_api.embedded import free_port
from tests.support import require_tool

SCRAPE_DEADLINE_SECONDS = 60


def strict_media_type(value: str) -> tuple[str, dict[str, str]]:
    """`(type, {parameter: value})`; ValueError on a parameter given twice, which strict
    parsers (Go's mime.ParseMediaType, so Prometheus 3) refuse."""
    message = email.message.Message()
    message["Content-Type"] = value
    params = message.get_params()
    assert params is not None
    (media_type, _), *rest = params
    names = [name.lower() for name, _ in rest]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate parameter in {value!r}")
    return media_type, {name.lower(): str(v) for name, v in rest}


def test_the_strict_parser_refuses_a_duplicate_parameter() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        strict_media_type("text/plain; version=1.0.0; charset=utf-8; charset=utf-8")
    assert strict_media_type("text/plain; charset=UTF-8") == ("text/plain", {"charset": "UTF-8"})


def test_metrics_content_type_has_each_parameter_once(serve: Any) -> None:
    server = serve(workers=1)
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers.get_list("content-type") == [response.headers["content-type"]]
    media_type, params = strict_media_type(response.headers["content-type"])
    assert (media_type, params) == ("text/plain", {"version": "0.0.4", "charset": "utf-8"})


def _query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    answer.raise_for_status()
    return answer.json()["data"]["result"]  # type: ignore[no-any-return]


def test_a_real_prometheus_scrapes_the_service(serve: Any) -> None:
    binary = require_tool("prometheus")
    server = serve(workers=2)
    assert httpx.get(f"{server.url}/api/subscriptions/plans").status_code == 200
    work = Path(tempfile.mkdtemp(prefix="alpine-prometheus-"))
    (work / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: alpine\n    static_configs: [{{targets: ['127.0.0.1:{server.port}']}}]\n"
    )
    port = free_port()
    prometheus = f"http://127.0.0.1:{port}"
    log = open(work / "prometheus.log", "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        deadline = time.monotonic() + SCRAPE_DEADLINE_SECONDS
        up: list[dict[str, Any]] = []
        series: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not (up and series):
            assert proc.poll() is None, (work / "prometheus.log").read_text()
            time.sleep(0.5)
            try:
                up = _query(prometheus, 'up{job="alpine"} == 1')
                series = _query(
                    prometheus,
                    'api_request_duration_seconds_count{route="/api/subscriptions/plans"}',
                )
            except httpx.HTTPError:
                continue  # still starting
        assert up and series, (work / "prometheus.log").read_text()[-3000:]
        assert float(series[0]["value"][1]) >= 1
        targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"]
        (target,) = targets["activeTargets"]
        assert target["health"] == "up" and target["lastError"] == "", target
    finally:
        proc.terminate()
        proc.wait(10)
