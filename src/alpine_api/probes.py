"""Hostile-input probes of a running deployment, from the outside.

Each probe replays one way a client can misbehave and checks that the service answers as
the contract says (see RELIABILITY.md, "Hostile input"):

1. a client that disconnects mid-body is not a server error (no 5xx in /metrics);
3. a query parameter given twice is a 400, so it can never reach the response cache;
4. an unknown query parameter is a 400 (including on the gate's cached fast path);
6. deactivating a user refuses their earlier tokens, also after a reactivation;
7. a correctly signed token whose `sub` exceeds int64 is a 401;
8. control characters in the path neither break the request nor forge log lines;
9. a full-width spelling of an email is the same account.

`Prober.checks()` adds the cheap, non-destructive ones (1, 3, 4, 8 and, with credentials,
9) to `alpine-api verify`; `Prober.hostile_checks()` is every probe (bench/probe.py),
some of which need admin credentials (6) or the JWT secret (7), or write accounts (6, 9).
"""

from __future__ import annotations

import secrets
import socket
import ssl
import time
import urllib.parse
from typing import Any

import jwt
from prometheus_client.parser import text_string_to_metric_families

from alpine_api.verify import Check, Skipped, Verifier, check, expect, marked

LOGIN = "/api/auth/login"
METRICS_WAIT_SECONDS = 5.0
PROBE_PASSWORD_BYTES = 18
INT64_OVERFLOW = str(2**63)


def full_width(text: str) -> str:
    """The full-width forms (U+FF01..U+FF5E) of printable ASCII."""
    return text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})


class Prober(Verifier):
    def __init__(
        self,
        url: str,
        *,
        admin_email: str | None = None,
        admin_password: str | None = None,
        jwt_secret: str | None = None,
        log_path: str | None = None,
        **verifier_options: Any,
    ) -> None:
        """`verifier_options`: those of Verifier (origin, token, email, password)."""
        super().__init__(url, **verifier_options)
        self.admin_email = admin_email
        self.admin_password = admin_password
        self.jwt_secret = jwt_secret
        self.log_path = log_path
        self.nonce = secrets.token_hex(4)

    # --- 1: a client gone mid-body ---

    def _login_statuses(self) -> dict[str, float]:
        reply = self.request("GET", "/metrics")
        expect(reply.status == 200, f"GET /metrics answered {reply.status}")
        counts: dict[str, float] = {}
        for family in text_string_to_metric_families(reply.body.decode()):
            for sample in family.samples:
                if (
                    sample.name == "api_request_duration_seconds_count"
                    and sample.labels.get("route") == LOGIN
                ):
                    status = sample.labels["status"]
                    counts[status] = counts.get(status, 0.0) + sample.value
        return counts

    def _send_partial_login(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname, port), timeout=5) as raw:
            sock = raw
            if parts.scheme == "https":
                sock = ssl.create_default_context().wrap_socket(raw, server_hostname=parts.hostname)
            sock.sendall(
                f"POST {LOGIN} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                '{"email":"'.encode()
            )
            time.sleep(0.3)  # the server is now reading the body that never comes

    @check("disconnect mid-body", hostile="1 disconnect")
    def probe_disconnect(self) -> str:
        before = self._login_statuses()
        self._send_partial_login()
        deadline = time.monotonic() + METRICS_WAIT_SECONDS
        while True:  # workers write request timings up to a second late
            after = self._login_statuses()
            new = {s: n - before.get(s, 0.0) for s, n in after.items() if n > before.get(s, 0.0)}
            if new or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        expect(bool(new), "the cut-short login never showed in /metrics")
        errors = {s: n for s, n in new.items() if s.startswith("5")}
        expect(not errors, f"recorded as a server error: status {sorted(errors)}")
        return f"recorded as status {', '.join(sorted(new))}"

    # --- 3 and 4: query parameters ---

    def _refused(self, path: str, name: str, headers: dict[str, str] | None = None) -> None:
        reply = self.request("GET", path, headers)
        expect(reply.status == 400, f"GET {path} answered {reply.status}, not 400")
        expect(name in reply.body.decode(errors="replace"), f"GET {path}: 400 not naming {name}")

    @check("query: repeated", hostile="3 repeated query")
    def probe_repeated_query(self) -> str:
        headers = self._auth_headers()
        if not headers:  # an anonymous request to the feed is a 401 before its query is read
            raise Skipped("no --token or --email/--password given")
        for query in ("limit=1&limit=2", "limit=2&limit=1"):  # the second could be a HIT
            self._refused(f"/api/signals/subscribed?{query}", "limit", headers)
        return "?limit=1&limit=2 and ?limit=2&limit=1 are 400s naming limit"

    @check("query: unknown", hostile="4 unknown query")
    def probe_unknown_query(self) -> str:
        bust = f"bust{self.nonce}"
        self._refused(f"/api/subscriptions/plans?{bust}=1", bust)
        headers = self._auth_headers()
        if headers:  # /api/auth/me is answered from Redis by the gate's fast path
            for _ in range(2):
                self._refused(f"/api/auth/me?{bust}=1", bust, headers)
        return f"?{bust}=1 is a 400 naming it" + (" (signed in too)" if headers else "")

    # --- 8: control characters in the path ---

    @check("log control chars", hostile="8 log control chars")
    def probe_log_control_characters(self) -> str:
        marker = f"PROBE-{self.nonce}"
        for path in (f"/api/%0a{marker}%20forged", f"/api/{marker}%00nul%1b"):
            reply = self.request("GET", path)
            expect(reply.status == 404, f"GET {path} answered {reply.status}, not 404")
        if self.log_path is None:
            return "answered 404 (give --log FILE to check the log too)"
        time.sleep(0.5)  # access lines are flushed once per event-loop turn
        with open(self.log_path, "rb") as log:
            raw = log.read()
        expect(b"\x00" not in raw, f"{self.log_path} holds a NUL byte")
        lines = raw.decode(errors="replace").splitlines()
        expect(bool([line for line in lines if marker in line]), f"no {marker} in the log")
        forged = [line for line in lines if line.startswith(marker)]
        expect(not forged, f"a line of the log starts with the path's text: {forged[:1]}")
        return f"404, and {self.log_path} shows them escaped on their own lines"

    # --- 9: Unicode look-alike emails ---

    @check(hostile="9 email register", needs=("admin_email",))
    def probe_email_register(self) -> str:
        assert self.admin_email is not None
        local, _, domain = self.admin_email.partition("@")
        wide = f"{full_width(local.upper())}@{domain}"
        body = {"email": wide, "password": secrets.token_urlsafe(PROBE_PASSWORD_BYTES)}
        reply = self.request("POST", "/api/auth/register", body=body)
        expect(reply.status == 409, f"registering {wide!r} answered {reply.status}, not 409")
        return f"registering {wide!r}: 409, the account exists"

    @check("email NFKC login", hostile="9 email login", needs=("email", "password"))
    def probe_email_normalisation(self) -> str:
        assert self.email is not None
        wide = full_width(self.email.split("@")[0]) + "@" + self.email.split("@")[1].upper()
        reply = self.request("POST", LOGIN, body={"email": wide, "password": self.password})
        expect(reply.status == 200, f"login as {wide!r} answered {reply.status}, not 200")
        return f"login as {wide!r}: 200, the same account"

    # --- 7: a signed token whose sub is no row id ---

    # Needs the JWT secret: a forged token would fail its signature check first.
    @check(hostile="7 int64 sub", needs=("jwt_secret",))
    def probe_int64_subject(self) -> str:
        assert self.jwt_secret is not None
        now = int(time.time())
        claims = {"sub": INT64_OVERFLOW, "jti": "00000000-0000-4000-8000-000000000000"}
        token = jwt.encode(
            {**claims, "iat": now, "exp": now + 300}, self.jwt_secret, algorithm="HS256"
        )
        reply = self.request("GET", "/api/auth/me", {"Authorization": f"Bearer {token}"})
        expect(reply.status == 401, f"sub {INT64_OVERFLOW}: {reply.status}, not 401")
        return f"sub {INT64_OVERFLOW}: 401"

    # --- 6: deactivation revokes for good ---

    def _login(self, email: str, password: str) -> dict[str, str]:
        reply = self.request("POST", LOGIN, body={"email": email, "password": password})
        body = reply.json()
        expect(reply.status == 200 and isinstance(body, dict), f"login as {email}: {reply.status}")
        assert isinstance(body, dict)
        return {"Authorization": f"Bearer {body['access_token']}"}

    def _me_status(self, headers: dict[str, str]) -> int:
        return self.request("GET", "/api/auth/me", headers).status

    @check(hostile="6 deactivation", needs=("admin_email", "admin_password"))
    def probe_deactivation(self) -> str:
        assert self.admin_email is not None and self.admin_password is not None
        email, password = f"probe-{self.nonce}@probe.invalid", secrets.token_urlsafe(18)
        reply = self.request(
            "POST", "/api/auth/register", body={"email": email, "password": password}
        )
        expect(reply.status == 201, f"registering {email} answered {reply.status}")
        user = reply.json()
        assert isinstance(user, dict)
        old = self._login(email, password)
        admin = self._login(self.admin_email, self.admin_password)
        path = f"/api/admin/users/{user['id']}"

        def set_active(active: bool) -> None:
            reply = self.request("PATCH", path, admin, body={"is_active": active})
            expect(reply.status == 200, f"PATCH {path} answered {reply.status}")

        expect(self._me_status(old) == 200, "the new user's token was refused")
        set_active(False)
        expect(self._me_status(old) == 401, "a deactivated user's token was accepted")
        set_active(True)
        for _ in range(2):
            status = self._me_status(old)
            expect(status == 401, f"after reactivation the earlier token answered {status}")
        expect(self._me_status(self._login(email, password)) == 200, "a fresh login failed")
        set_active(False)  # the probe's account is left inactive
        return f"{email}: earlier token 401 after reactivation, new login 200"

    def hostile_checks(self) -> list[tuple[str, Check]]:
        """Items 1-9 of RELIABILITY.md's hostile-input section, in order."""
        return sorted(marked(self, "hostile"), key=lambda item: int(item[0].split()[0]))
