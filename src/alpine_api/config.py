"""Typed settings, read once from the ALPINE_* environment.

A bad value raises ConfigError whose message is one line naming the variable;
the CLI prints it and exits non-zero. Nothing here imports the rest of the package.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Literal
from urllib.parse import urlsplit

import msgspec

Tier = Literal["starter", "pro", "elite"]
# How ALPINE_DATABASE_URL (and the replica URL) reach PostgreSQL: straight to the server,
# or through a pooler in transaction mode such as PgBouncer (no session state kept).
Pooler = Literal["direct", "transaction"]
POOLERS: tuple[Pooler, ...] = ("direct", "transaction")
TIERS: tuple[Tier, ...] = ("starter", "pro", "elite")

MIN_JWT_SECRET_BYTES = 32


class ConfigError(ValueError):
    """A configuration value is missing or malformed (message names the variable)."""


class RateSpec(msgspec.Struct, frozen=True):
    """`N/SECONDS`: at most `limit` requests in any window of `window_seconds`."""

    limit: int
    window_seconds: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_seconds}"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    redis_url: str
    # Optional streaming replica for reads that tolerate lag (admin statistics and listing).
    database_replica_url: str = ""
    database_pooler: Pooler = "direct"
    # ALPINE_REDIS_URL names one node of a Redis / Valkey Cluster; the rest is discovered.
    redis_cluster: bool = False
    jwt_secret: str = ""
    jwt_ttl_seconds: int = 3600
    # When set, GET /metrics requires `Authorization: Bearer <metrics_token>`.
    metrics_token: str = ""
    cors_origins: tuple[str, ...] = ("http://localhost:3000",)
    # Per client: starter users and anonymous clients, then pro and elite users.
    rate_limit: RateSpec = RateSpec(100, 60)
    rate_limit_pro: RateSpec = RateSpec(300, 60)
    rate_limit_elite: RateSpec = RateSpec(1000, 60)
    auth_rate_limit: RateSpec = RateSpec(10, 60)
    rate_limit_fail_open: bool = True
    rate_limit_enabled: bool = True
    cache_enabled: bool = True
    admin_cache_ttl_seconds: int = 300
    plan_price_starter_cents: int = 1900
    plan_price_pro_cents: int = 4900
    plan_price_elite_cents: int = 14900
    trusted_proxies: tuple[str, ...] = ()
    db_pool_min: int = 5
    db_pool_max: int = 20
    db_command_timeout_seconds: float = 5.0
    db_connect_timeout_seconds: float = 2.0
    # Longest wait for one Redis call before the request falls back.
    redis_timeout_ms: int = 250
    admin_email: str = "admin@example.com"
    admin_password: str = ""
    log_format: Literal["json", "text"] = "json"


def to_migration_url(database_url: str) -> str:
    _scheme, sep, rest = database_url.partition("://")
    return f"postgresql+psycopg://{rest}" if sep else database_url


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _parse_int(name: str, raw: str, *, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{name}: expected an integer {bound}, got {value}")
    return value


def _parse_rate(name: str, raw: str) -> RateSpec:
    limit, sep, window = raw.strip().partition("/")
    if not sep:
        raise ConfigError(f"{name}: expected N/SECONDS such as 100/60, got {raw!r}")
    return RateSpec(
        _parse_int(name, limit, minimum=1), _parse_int(name, window, minimum=1, maximum=86400)
    )


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries: Iterable[str]) -> list[IPNetwork]:
    """ALPINE_TRUSTED_PROXIES entries (addresses or CIDR networks) as networks."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(
                f"ALPINE_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return networks


def _parse_url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{name}: expected a {' or '.join(schemes)} URL with a host")
    return raw.strip()


def _parse_origins(name: str, raw: str) -> tuple[str, ...]:
    origins = _parse_list(raw)
    for origin in origins:
        if origin == "*":
            raise ConfigError(f"{name}: '*' is not allowed (credentials are allowed); list origins")
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigError(f"{name}: {origin!r} is not an origin like https://app.example.com")
    return origins


Getter = Callable[[str], str | None]  # a setting's raw value by its name after ALPINE_

# Numeric settings: variable (after ALPINE_) -> (field, minimum, maximum).
INT_FIELDS = {
    "JWT_TTL_SECONDS": ("jwt_ttl_seconds", 60, 7 * 86400),
    "ADMIN_CACHE_TTL_SECONDS": ("admin_cache_ttl_seconds", 1, 86400),
    "REDIS_TIMEOUT_MS": ("redis_timeout_ms", 10, 10_000),
    "DB_POOL_MIN": ("db_pool_min", 0, 1000),
    "DB_POOL_MAX": ("db_pool_max", 1, 1000),
    "PLAN_PRICE_STARTER_CENTS": ("plan_price_starter_cents", 1, 10_000_000),
    "PLAN_PRICE_PRO_CENTS": ("plan_price_pro_cents", 1, 10_000_000),
    "PLAN_PRICE_ELITE_CENTS": ("plan_price_elite_cents", 1, 10_000_000),
}
# Rates and switches: variable (after ALPINE_) -> (field, parser).
PARSED_FIELDS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "RATE_LIMIT": ("rate_limit", _parse_rate),
    "RATE_LIMIT_PRO": ("rate_limit_pro", _parse_rate),
    "RATE_LIMIT_ELITE": ("rate_limit_elite", _parse_rate),
    "AUTH_RATE_LIMIT": ("auth_rate_limit", _parse_rate),
    "RATE_LIMIT_FAIL_OPEN": ("rate_limit_fail_open", _parse_bool),
    "RATE_LIMIT_ENABLED": ("rate_limit_enabled", _parse_bool),
    "CACHE_ENABLED": ("cache_enabled", _parse_bool),
    "REDIS_CLUSTER": ("redis_cluster", _parse_bool),
}


def _service_values(get: Getter, values: dict[str, object]) -> None:
    """The PostgreSQL and Redis URLs (both required) and how PostgreSQL is reached."""
    for key, field in (("DATABASE_URL", "database_url"), ("REDIS_URL", "redis_url")):
        raw = get(key)
        if raw is None:
            raise ConfigError(f"ALPINE_{key}: not set")
        schemes = ("postgresql", "postgres") if key == "DATABASE_URL" else ("redis", "rediss")
        values[field] = _parse_url(f"ALPINE_{key}", raw, schemes)
    if (raw := get("DATABASE_REPLICA_URL")) is not None:
        values["database_replica_url"] = _parse_url(
            "ALPINE_DATABASE_REPLICA_URL", raw, ("postgresql", "postgres")
        )

    if (raw := get("DATABASE_POOLER")) is not None:
        if raw not in POOLERS:
            raise ConfigError(
                f"ALPINE_DATABASE_POOLER: expected transaction or direct (the default), got {raw!r}"
            )
        values["database_pooler"] = raw


def _secret_values(get: Getter, values: dict[str, object]) -> None:
    if (raw := get("METRICS_TOKEN")) is not None:
        if len(raw) < 16:
            raise ConfigError("ALPINE_METRICS_TOKEN: must be at least 16 characters")
        values["metrics_token"] = raw
    if (raw := get("JWT_SECRET")) is not None:
        if len(raw.encode()) < MIN_JWT_SECRET_BYTES:
            raise ConfigError(f"ALPINE_JWT_SECRET: must be at least {MIN_JWT_SECRET_BYTES} bytes")
        values["jwt_secret"] = raw


def _table_values(get: Getter, values: dict[str, object]) -> None:
    for key, (field, low, high) in INT_FIELDS.items():
        if (raw := get(key)) is not None:
            values[field] = _parse_int(f"ALPINE_{key}", raw, minimum=low, maximum=high)
    for key, (field, parse) in PARSED_FIELDS.items():
        if (raw := get(key)) is not None:
            values[field] = parse(f"ALPINE_{key}", raw)


def _access_values(get: Getter, values: dict[str, object]) -> None:
    """Who may call (CORS origins, trusted proxies), the admin account, the log format."""
    if (raw := get("CORS_ORIGINS")) is not None:
        values["cors_origins"] = _parse_origins("ALPINE_CORS_ORIGINS", raw)
    if (raw := get("TRUSTED_PROXIES")) is not None:
        proxies = _parse_list(raw)
        trusted_networks(proxies)  # refused here, at start-up, with the variable's name
        values["trusted_proxies"] = proxies
    if (raw := get("ADMIN_EMAIL")) is not None:
        if "@" not in raw:
            raise ConfigError("ALPINE_ADMIN_EMAIL: not an email address")
        values["admin_email"] = raw.strip().lower()
    if (raw := get("ADMIN_PASSWORD")) is not None:
        if not 8 <= len(raw) <= 128:
            raise ConfigError("ALPINE_ADMIN_PASSWORD: must be 8..128 characters")
        values["admin_password"] = raw
    if (raw := get("LOG_FORMAT")) is not None:
        if raw not in ("json", "text"):
            raise ConfigError(f"ALPINE_LOG_FORMAT: expected json or text, got {raw!r}")
        values["log_format"] = raw


def load_settings(
    env: Mapping[str, str] | None = None, *, defaults: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from `env` (default: os.environ); `defaults` fills unset variables."""
    source = dict(defaults or {})
    source.update({k: v for k, v in (os.environ if env is None else env).items() if v != ""})

    def get(key: str) -> str | None:
        return source.get(f"ALPINE_{key}")

    values: dict[str, object] = {}
    for part in (_service_values, _secret_values, _table_values, _access_values):
        part(get, values)

    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.db_pool_min > settings.db_pool_max:
        raise ConfigError("ALPINE_DB_POOL_MIN: must not exceed ALPINE_DB_POOL_MAX")
    return settings
