"""Rate-limit policies and clients of the request gate (see request_gate.py).

A user's requests count under their tier's policy (`default` for starter, `pro`, `elite`),
in one limiter state per user whatever the tier, so a tier change moves the user to the
new limit with the requests of the window still counted. Anonymous requests, requests
whose token is refused, and the routes of ROUTE_POLICIES count per client IP.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable

from litestar.types import Scope

from alpine_api.config import TIERS, RateSpec, Settings, trusted_networks
from alpine_api.metrics import RATE_LIMIT_EXCEEDED, RATE_LIMIT_REQUESTS, RATE_LIMIT_UNAVAILABLE
from alpine_api.redis import keys

DEFAULT = "default"
AUTH = "auth"
# Per-route policies: path -> policy name. Paths not listed use the client's own policy.
# A policy here is counted per client IP, whatever token the request carries.
ROUTE_POLICIES: dict[str, str] = {
    "/api/auth/login": AUTH,
    "/api/auth/register": AUTH,
}


class Policy:
    """A named limit with its metric children and constant header parts made once."""

    def __init__(self, name: str, spec: RateSpec) -> None:
        self.name = name
        self.limit = spec.limit
        self.window_ms = spec.window_seconds * 1000
        self.args = (spec.limit, self.window_ms)  # as redis/gate.lua takes it
        self.requests = RATE_LIMIT_REQUESTS.labels(policy=name)
        self.exceeded = RATE_LIMIT_EXCEEDED.labels(policy=name)
        self.unavailable = RATE_LIMIT_UNAVAILABLE.labels(policy=name)
        self.detail = f"Rate limit exceeded: {spec.limit} requests per {spec.window_seconds} s"
        self.static_headers = [
            (b"x-ratelimit-limit", str(spec.limit).encode()),
            (b"ratelimit-policy", f'"{name}";q={spec.limit};w={spec.window_seconds}'.encode()),
        ]

    def headers(self, remaining: int, reset_ms: int) -> list[tuple[bytes, bytes]]:
        reset = str(max(1, math.ceil(reset_ms / 1000))).encode()
        return [
            *self.static_headers,
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", reset),
            (
                b"ratelimit",
                b'"' + self.name.encode() + b'";r=' + str(remaining).encode() + b";t=" + reset,
            ),
        ]


class Limits:
    """Every policy of one app, built once from its settings."""

    def __init__(self, settings: Settings) -> None:
        specs = {
            "starter": settings.rate_limit,
            "pro": settings.rate_limit_pro,
            "elite": settings.rate_limit_elite,
        }
        # Policy i (from 1) of gate.lua's reply for a user is tiers[i - 1].
        self.tiers = tuple(
            Policy(DEFAULT if tier == "starter" else tier, specs[tier]) for tier in TIERS
        )
        self.anonymous = self.tiers[0]
        self.tier_args = tuple(arg for policy in self.tiers for arg in policy.args)
        self._by_tier: dict[str, Policy] = dict(zip(TIERS, self.tiers, strict=True))
        named = {AUTH: Policy(AUTH, settings.auth_rate_limit)}
        self.routes = {path: named[name] for path, name in ROUTE_POLICIES.items()}

    def of_tier(self, tier: str) -> Policy:
        return self._by_tier.get(tier, self.anonymous)


class ClientAddress:
    """The client IP: the socket peer, unless the peer is a trusted proxy. A malformed
    trusted entry raises ConfigError naming ALPINE_TRUSTED_PROXIES."""

    def __init__(self, trusted: Iterable[str]) -> None:
        self.trusted = trusted_networks(trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def limiter(self, scope: Scope, policy: Policy) -> str:
        """The limiter state of this request's client IP under `policy`."""
        return keys.limiter(keys.ip_tag(self.of(scope)), policy.name)

    def of(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                hops = [hop.strip() for hop in value.decode("latin-1").split(",")]
                # The nearest hop that is not one of our proxies is the client.
                for hop in reversed(hops):
                    if hop and not self._is_trusted(hop):
                        return hop
        return peer
