"""/schema in a real headless Chromium with every outside host unreachable: the page
loads only assets the service serves itself and renders the operations. The test saves
a screenshot under artifacts/ (git-ignored) and prints its path."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.support import require_tool

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# Every host but the service's own resolves to nothing: a CDN asset could not load.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def chromium(binary: str, url: str, *args: str) -> str:
    profile = tempfile.mkdtemp(prefix="alpine-chromium-")
    run = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            OFFLINE,
            "--virtual-time-budget=15000",
            "--window-size=1280,900",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_the_docs_page_needs_nothing_from_outside(serve: Any) -> None:
    server = serve(workers=1)
    page = httpx.get(f"{server.url}/schema")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", page.text)
    assert len(assets) >= 4, page.text  # script, preset, stylesheet, icon
    for asset in assets:
        assert asset.startswith("/schema/assets/"), asset
        answer = httpx.get(f"{server.url}{asset}")
        assert answer.status_code == 200 and answer.content, asset


def test_the_docs_page_renders_offline_in_chromium(serve: Any) -> None:
    binary = require_tool("chromium")
    server = serve(workers=1)
    dom = chromium(binary, f"{server.url}/schema", "--dump-dom")
    # Swagger UI drew an operation block per operation, with its path and summary.
    assert dom.count('class="opblock opblock-') >= 20, dom[-3000:]
    for text in ("/api/auth/login", "/api/admin/users/{user_id}", "Exchange email and password"):
        assert text in dom, text
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "docs-page.png"
    screenshot.unlink(missing_ok=True)
    chromium(binary, f"{server.url}/schema", f"--screenshot={screenshot}")
    assert screenshot.stat().st_size > 10_000
    print(f"docs page screenshot: {screenshot}")
