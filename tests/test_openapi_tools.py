"""The served OpenAPI document passes the ecosystem's checkers: openapi-spec-validator
(the OpenAPI 3.1 schema) and Redocly's linter (recommended rules) with zero errors and
only the warnings listed, each with its reason, in ACCEPTED_WARNINGS."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.support import require_tool

REDOCLY = "@redocly/cli@2.77.0"
# rule id -> the JSON pointers it may warn about, and why that is right for this service.
ACCEPTED_WARNINGS = {
    # A private service's document: there is no licence to state.
    "info-license": ({"#/info"}, "no licence to state"),
    # The probes answer 200/503 to anyone and take no input: no client error exists.
    "operation-4xx-response": (
        {"#/paths/~1health/get/responses", "#/paths/~1health~1live/get/responses"},
        "probes have no client errors",
    ),
}


@pytest.fixture
async def document(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_openapi_spec_validator_accepts_it(document: dict[str, Any]) -> None:
    validate(document)
    broken = copy.deepcopy(document)  # and the validator does fail on a broken document
    broken["paths"]["/health"]["get"]["responses"]["200"].pop("description")
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def redocly_lint(document: dict[str, Any], directory: Path) -> dict[str, Any]:
    npx = require_tool("npx")
    path = directory / "openapi.json"
    path.write_text(json.dumps(document))
    run = subprocess.run(
        [npx, "--yes", REDOCLY, "lint", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=directory,
    )
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def test_redocly_lint_has_no_errors(document: dict[str, Any], tmp_path: Path) -> None:
    report = redocly_lint(document, tmp_path)
    problems = [
        (p["ruleId"], p["severity"], p["location"][0]["pointer"]) for p in report["problems"]
    ]
    assert report["totals"]["errors"] == 0, problems
    for rule, severity, pointer in problems:
        assert severity == "warn" and pointer in ACCEPTED_WARNINGS.get(rule, ((), ""))[0], (
            rule,
            pointer,
        )
    # The linter does see what it was run for: a public operation without `security: []`
    # is an error, an example that contradicts its schema a warning not accepted above.
    broken = copy.deepcopy(document)
    del broken["paths"]["/api/auth/login"]["post"]["security"]
    broken["components"]["schemas"]["Error"]["examples"] = [{"status_code": "400"}]
    found = {(p["ruleId"], p["severity"]) for p in redocly_lint(broken, tmp_path)["problems"]}
    assert {("security-defined", "error"), ("no-invalid-schema-examples", "warn")} <= found
