"""The served OpenAPI document makes a working typed client: openapi-python-client
generates one from `/schema/openapi.json` with zero warnings, it installs into a fresh
virtualenv, and a register / login / subscribed / notifications / subscribe / logout
flow runs through its models, documented errors (401, 409) decoded as the `Error` model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from tests.support import UNLIMITED, require_tool

BIN = Path(sys.executable).parent
FLOW = Path(__file__).parent / "tools" / "client_flow.py"


def generate(source: list[str], out: Path) -> str:
    """Run the generator (`source`: `--url U` or `--path P`); its whole output."""
    run = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            *source,
            *("--meta", "uv", "--output-path", str(out), "--overwrite"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},  # its ruff
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def test_the_warning_check_sees_an_untyped_error_schema(tmp_path: Path) -> None:
    """The zero-warnings assertion below can fail: the old error schema (`extra` an
    array without `items`) makes the generator warn and drop the error responses."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/x": {
                "get": {
                    "operationId": "x",
                    "responses": {
                        "200": {"description": "ok"},
                        "400": {
                            "description": "bad",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "extra": {
                                                "oneOf": [{"type": "object"}, {"type": "array"}]
                                            }
                                        },
                                    }
                                }
                            },
                        },
                    },
                }
            }
        },
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    assert "Warning" in generate(["--path", str(path)], tmp_path / "client")


def run_flow(uv: str, client: Path, venv: Path, url: str) -> dict[str, Any]:
    """Install the generated client into a fresh virtualenv and run tools/client_flow.py."""
    python = str(venv / "bin" / "python")
    subprocess.run([uv, "venv", "--quiet", str(venv)], check=True, timeout=60)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", python, str(client)], check=True, timeout=180
    )
    run = subprocess.run(
        [python, str(FLOW), url, "generated@example.com"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)  # type: ignore[no-any-return]


async def test_a_generated_client_drives_the_api(
    serve: Any, db: asyncpg.Connection, tmp_path: Path
) -> None:
    uv = require_tool("uv")
    server = serve(workers=1, ALPINE_RATE_LIMIT=UNLIMITED, ALPINE_AUTH_RATE_LIMIT=UNLIMITED)
    signal = await db.fetchval(
        "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
        " confidence, tier) VALUES ('BTC-USD', 'long', 100, 120, 90, 0.9, 'starter') RETURNING id"
    )
    output = generate(["--url", f"{server.url}/schema/openapi.json"], tmp_path / "client")
    assert "Warning" not in output and "warning" not in output.lower(), output
    result = run_flow(uv, tmp_path / "client", tmp_path / "venv", server.url)

    assert result["register"]["type"] == "CurrentUser"
    assert result["register"]["value"]["tier"] == "starter"
    assert result["register_again"]["type"] == "Error"
    assert result["register_again"]["value"]["status_code"] == 409
    assert result["login_wrong"]["type"] == "Error"
    assert result["login_wrong"]["value"]["status_code"] == 401
    assert result["login"]["type"] == "TokenResponse"
    assert result["subscribed"]["type"] == "PageSignal"
    assert [s["id"] for s in result["subscribed"]["value"]["items"]] == [signal]
    assert result["subscribe"]["type"] == "Subscription"
    assert result["subscribe"]["value"]["tier"] == "pro"
    assert result["subscribe_again"]["type"] == "Error"
    assert result["subscribe_again"]["value"]["status_code"] == 409
    assert result["notifications"]["type"] == "PageNotification"
    kinds = [n["kind"] for n in result["notifications"]["value"]["items"]]
    assert "billing" in kinds, kinds
    assert result["logout"] == 204
    assert result["me_after_logout"]["type"] == "Error"
    assert result["me_after_logout"]["value"]["status_code"] == 401
    # What the client saw is what the database holds.
    row = await db.fetchrow(
        "SELECT tier::text, is_active FROM users WHERE email = $1", "generated@example.com"
    )
    assert tuple(row) == ("pro", True)
