"""Logs of a real `serve`: one JSON access line per request, and no secret anywhere."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.support import JWT_SECRET

PASSWORD = "Sup3r-secret-passphrase!"


def _json_lines(logs: str) -> list[dict[str, Any]]:
    """Every line of the log, Granian's own included, is one JSON object."""
    return [json.loads(line) for line in logs.splitlines() if line.strip()]


def test_json_access_lines_and_no_secrets(serve: Any) -> None:
    server = serve(workers=1, ALPINE_LOG_FORMAT="")  # unset: serve's default, JSON
    with httpx.Client(base_url=server.url, timeout=10) as client:
        user = {"email": "logs@example.com", "password": PASSWORD, "full_name": "Lou Logs"}
        assert client.post("/api/auth/register", json=user).status_code == 201
        login = client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}", "X-Request-ID": "me-1"}
        me = client.get("/api/auth/me", headers=auth)
        assert me.status_code == 200
        assert (
            client.patch(
                "/api/users/profile", json={"full_name": "Lou", "password": PASSWORD}, headers=auth
            ).status_code
            == 400
        )
        wrong = {"email": user["email"], "password": PASSWORD + "x"}
        assert client.post("/api/auth/login", json=wrong).status_code == 401
        forged = {"Authorization": f"Bearer {token[:-4]}AAAA"}
        assert client.get("/api/auth/me", headers=forged).status_code == 401
        assert client.post("/api/auth/logout", headers=auth).status_code == 204
    server.stop()
    logs = server.logs()

    for secret in (PASSWORD, token, token.split(".")[2], JWT_SECRET, "Bearer "):
        assert secret not in logs
    assert not re.search(r"eyJ[\w-]+\.[\w-]+", logs)  # no JWT of any kind

    lines = _json_lines(logs)
    assert any(line["logger"].startswith("_granian") for line in lines)
    access = [line for line in lines if line["logger"] == "alpine_api.access"]
    assert len(access) >= 7
    for line in access:
        assert {"ts", "level", "msg", "pid", "method", "route", "status", "duration_ms"} <= set(
            line
        )
        assert re.fullmatch(r"[\x21-\x7e]{1,128}", line["request_id"])
    (me_line,) = [
        line for line in access if line["request_id"] == "me-1" and line["method"] == "GET"
    ]
    assert (me_line["route"], me_line["status"]) == ("/api/auth/me", 200)
    assert me_line["user_id"] == me.json()["id"]
    assert isinstance(me_line["duration_ms"], float)


def test_text_lines_for_people(serve: Any) -> None:
    server = serve(workers=1, ALPINE_LOG_FORMAT="text")
    httpx.get(f"{server.url}/health/live", headers={"X-Request-ID": "txt-1"}, timeout=5)
    server.stop()
    (line,) = [line for line in server.logs().splitlines() if "[txt-1]" in line]
    assert not line.startswith("{")
    assert re.search(
        r"alpine_api\.access: GET /health/live 200 route=/health/live duration_ms=", line
    )
