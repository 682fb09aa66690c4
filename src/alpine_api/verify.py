"""`alpine-api verify URL`: check a running deployment from the outside.

Each check sends real requests and reports PASS, FAIL or SKIP with what it saw:
liveness and readiness, the Prometheus text (parsed), X-Request-ID, CORS (a preflight
from an allowed origin is answered with that origin and credentials, one from an unknown
origin is not), gzip on a response of 1000 bytes or more, the rate-limit headers of an
`/api/*` response and, given credentials, `X-Cache` on a cached endpoint. Only the
standard library speaks HTTP here, so a bare install can run it anywhere.
"""

from __future__ import annotations

import gzip
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import TextIO, TypeVar

from prometheus_client.parser import text_string_to_metric_families

TIMEOUT_SECONDS = 5.0
METRICS_DELAY_SECONDS = 1.5
UNKNOWN_ORIGIN = "https://verify.invalid"
METRICS_REQUIRED = (
    "api_request_duration_seconds",
    "db_query_duration_seconds",
    "db_pool_size",
    "db_pool_idle_connections",
)
RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)


class CheckFailed(Exception):
    """A check saw something other than what the contract promises."""


class Skipped(Exception):
    """A check that needs something not given (such as credentials)."""


Check = Callable[[], str]
Method = TypeVar("Method", bound=Callable[..., str])


def check(
    name: str | None = None, *, hostile: str | None = None, needs: tuple[str, ...] = ()
) -> Callable[[Method], Method]:
    """Name a check where it is defined: `name` in `alpine-api verify` (None: not run
    there), `hostile` its item of RELIABILITY.md's hostile-input section (probes.py).
    `needs`: the options it cannot run without (attributes of the checker); without
    them it is skipped, saying which."""

    def mark(method: Method) -> Method:
        method.check_marks = {"name": name, "hostile": hostile, "needs": needs}  # type: ignore[attr-defined]
        return method

    return mark


def _unless_missing(owner: object, method: Check, needs: tuple[str, ...]) -> Check:
    def run() -> str:
        if not all(getattr(owner, option) for option in needs):
            options = "/".join(f"--{option.replace('_', '-')}" for option in needs)
            raise Skipped(f"no {options} given")
        return method()

    return run


def marked(owner: object, label: str) -> list[tuple[str, Check]]:
    """(label, check) for every check of `owner` with that label, in the order the
    classes (base first) define them."""
    found = []
    for cls in reversed(type(owner).__mro__):
        for attribute, value in vars(cls).items():
            marks = getattr(value, "check_marks", None)
            if marks is not None and marks[label] is not None:
                method = _unless_missing(owner, getattr(owner, attribute), marks["needs"])
                found.append((marks[label], method))
    return found


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass(frozen=True)
class Outcome:
    name: str
    state: str  # PASS, FAIL or SKIP
    detail: str


class Verifier:
    def __init__(
        self,
        url: str,
        *,
        origin: str,
        token: str | None = None,
        email: str | None = None,
        password: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.origin = origin
        self.token = token
        self.email = email
        self.password = password

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: object | None = None,
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the operator's URL
            self.url + path, data=data, method=method, headers=dict(headers or {})
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())
        except (urllib.error.URLError, OSError) as error:
            raise CheckFailed(f"{method} {path}: {getattr(error, 'reason', error)}") from None

    # --- checks: each returns what it saw, or raises CheckFailed / Skipped ---

    @check("liveness")
    def check_live(self) -> str:
        reply = self.request("GET", "/health/live")
        expect(reply.status == 200, f"GET /health/live answered {reply.status}")
        return "200 ok"

    @check("readiness")
    def check_health(self) -> str:
        reply = self.request("GET", "/health")
        body = reply.json()
        expect(
            reply.status == 200 and isinstance(body, dict) and body.get("status") == "healthy",
            f"GET /health answered {reply.status} {reply.body[:200]!r}",
        )
        return "database and redis healthy"

    @check("request id")
    def check_request_id(self) -> str:
        sent = f"verify-{secrets.token_hex(6)}"
        reply = self.request("GET", "/health/live", {"X-Request-ID": sent})
        expect(reply.headers.get("X-Request-ID") == sent, "X-Request-ID not echoed")
        generated = self.request("GET", "/health/live").headers.get("X-Request-ID")
        expect(bool(generated), "no X-Request-ID generated")
        return "echoed and generated"

    @check("metrics")
    def check_metrics(self) -> str:
        for attempt in range(2):  # workers write request timings up to a second late
            if attempt:
                time.sleep(METRICS_DELAY_SECONDS)
            reply = self.request("GET", "/metrics")
            expect(reply.status == 200, f"GET /metrics answered {reply.status}")
            try:
                families = {f.name for f in text_string_to_metric_families(reply.body.decode())}
            except ValueError as exc:
                raise CheckFailed(f"/metrics does not parse: {exc}") from None
            missing = [name for name in METRICS_REQUIRED if name not in families]
            if not missing:
                break
        expect(not missing, f"/metrics lacks {', '.join(missing)}")
        return f"{len(families)} metric families, parsed"

    @check("cors")
    def check_cors(self) -> str:
        preflight = {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        }
        allowed = self.request("OPTIONS", "/api/auth/me", {"Origin": self.origin, **preflight})
        expect(
            allowed.status in (200, 204)
            and allowed.headers.get("Access-Control-Allow-Origin") == self.origin
            and allowed.headers.get("Access-Control-Allow-Credentials") == "true",
            f"preflight from {self.origin}: {allowed.status}, allow-origin "
            f"{allowed.headers.get('Access-Control-Allow-Origin')!r}",
        )
        refused = self.request("OPTIONS", "/api/auth/me", {"Origin": UNKNOWN_ORIGIN, **preflight})
        expect(
            refused.headers.get("Access-Control-Allow-Origin") is None,
            f"preflight from {UNKNOWN_ORIGIN} was allowed",
        )
        return f"{self.origin} allowed with credentials, unknown origin refused"

    @check("compression")
    def check_compression(self) -> str:
        reply = self.request("GET", "/schema/openapi.json", {"Accept-Encoding": "gzip"})
        expect(reply.status == 200, f"GET /schema/openapi.json answered {reply.status}")
        expect(reply.headers.get("Content-Encoding") == "gzip", "response not gzip-encoded")
        size = len(gzip.decompress(reply.body))
        expect(size >= 1000, f"test body only {size} bytes")
        return f"{size} bytes sent as {len(reply.body)}"

    @check("rate-limit headers")
    def check_rate_limit_headers(self) -> str:
        reply = self.request("GET", "/api/auth/me", self._auth_headers())
        missing = [h for h in RATE_LIMIT_HEADERS if reply.headers.get(h) is None]
        expect(not missing, f"GET /api/auth/me ({reply.status}) lacks {', '.join(missing)}")
        return (
            f"limit {reply.headers['X-RateLimit-Limit']}, "
            f"remaining {reply.headers['X-RateLimit-Remaining']}"
        )

    @check("cache headers")
    def check_cache(self) -> str:
        headers = self._auth_headers()
        if not headers:
            raise Skipped("no --token or --email/--password given")
        seen = []
        for _ in range(2):
            reply = self.request("GET", "/api/auth/me", headers)
            expect(reply.status == 200, f"GET /api/auth/me answered {reply.status}")
            seen.append(reply.headers.get("X-Cache"))
        expect(seen[0] in ("HIT", "MISS") and seen[1] == "HIT", f"X-Cache was {seen}")
        return f"X-Cache {seen[0]} then {seen[1]}"

    def _auth_headers(self) -> dict[str, str]:
        if self.token is None and self.email and self.password:
            reply = self.request(
                "POST", "/api/auth/login", body={"email": self.email, "password": self.password}
            )
            body = reply.json()
            if reply.status != 200 or not isinstance(body, dict):
                raise CheckFailed(f"login as {self.email} answered {reply.status}")
            self.token = str(body["access_token"])
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def checks(self) -> list[tuple[str, Check]]:
        return marked(self, "name")

    def run(self) -> list[Outcome]:
        outcomes = []
        for name, run_check in self.checks():
            try:
                outcomes.append(Outcome(name, "PASS", run_check()))
            except Skipped as skip:
                outcomes.append(Outcome(name, "SKIP", str(skip)))
            except CheckFailed as failure:
                outcomes.append(Outcome(name, "FAIL", str(failure)))
            except (ValueError, KeyError) as exc:  # a body that is not what it should be
                outcomes.append(Outcome(name, "FAIL", f"unexpected answer: {exc}"))
        return outcomes


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise CheckFailed(failure)


def report(url: str, outcomes: list[Outcome], out: TextIO) -> bool:
    """Print one line per check; True when none failed."""
    print(f"alpine-api verify {url}", file=out)
    for outcome in outcomes:
        print(f"  {outcome.state:<4}  {outcome.name:<19} {outcome.detail}", file=out)
    failed = sum(o.state == "FAIL" for o in outcomes)
    verdict = "FAILED" if failed else "OK"
    print(f"{verdict}: {failed} of {len(outcomes)} checks failed", file=out)
    return failed == 0
