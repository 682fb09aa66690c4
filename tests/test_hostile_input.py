"""Hostile input seen by a real `serve`: a client that vanishes mid-body, and control
characters in the path reaching the log.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from alpine_api.metrics import REQUEST_DURATIONS
from tests.support import UNLIMITED

DISCONNECTS = 3


def _disconnect_mid_body(port: int, n: int) -> None:
    """Announce 100 bytes of body, send 10, close."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: probe\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n"
            + f"X-Request-ID: gone-{n}\r\n\r\n".encode()
            + b'{"email":"'
        )
        time.sleep(0.2)  # the server is now waiting for the rest of the body


def _login_samples(url: str) -> dict[str, float]:
    """api_request_duration_seconds_count of POST /api/auth/login, by status."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "api_request_duration_seconds_count"
        and sample.labels["route"] == "/api/auth/login"
    }


def test_disconnect_mid_body_is_no_server_error_and_paths_cannot_forge_lines(
    serve: Any,
) -> None:
    server = serve(workers=1, ALPINE_LOG_FORMAT="text", ALPINE_AUTH_RATE_LIMIT=UNLIMITED)
    for n in range(DISCONNECTS):
        _disconnect_mid_body(server.port, n)
    for path in ("/api/%0aFORGED%20ERROR%20line", "/api/nul%00here"):
        assert httpx.get(server.url + path, timeout=5).status_code == 404
    deadline = time.monotonic() + REQUEST_DURATIONS.delay + 5
    while sum((samples := _login_samples(server.url)).values()) < DISCONNECTS:
        assert time.monotonic() < deadline, samples
        time.sleep(0.2)
    server.stop()
    assert not [status for status in samples if status.startswith("5")], samples
    assert samples == {"499": DISCONNECTS}

    raw = server.log_path.read_bytes()
    assert b"\x00" not in raw
    lines = raw.decode().splitlines()
    assert not [line for line in lines if line.startswith("FORGED")]
    (forged,) = [line for line in lines if "FORGED" in line]
    assert "alpine_api.access" in forged and "\\n" in forged
    (nul,) = [line for line in lines if "/api/nul" in line]
    assert "\\x00here" in nul
    assert "Traceback" not in raw.decode()
    assert not [line for line in lines if line.split()[1:2] != ["INFO"]]
    for n in range(DISCONNECTS):
        (gone,) = [line for line in lines if f"[gone-{n}]" in line]
        assert gone.split()[1] == "INFO" and " 499 " in gone


def test_json_lines_stay_one_line_with_control_characters(serve: Any) -> None:
    server = serve(workers=1, ALPINE_LOG_FORMAT="json")
    for path in ("/api/%0aFORGED", "/api/nul%00here%1b[31m"):
        assert httpx.get(server.url + path, timeout=5).status_code == 404
    server.stop()
    raw = server.log_path.read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw
    paths = [json.loads(line).get("path") for line in raw.decode().splitlines()]
    assert "/api/\nFORGED" in paths and "/api/nul\x00here\x1b[31m" in paths
