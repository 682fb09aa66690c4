"""Settings from ALPINE_*: every bad value names its variable, in-process and via the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from alpine_api.config import ConfigError, RateSpec, Settings, load_settings, to_migration_url
from tests.support import clean_env

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "ALPINE_DATABASE_URL": "postgresql://alpine:pw@127.0.0.1:5432/alpine",
    "ALPINE_REDIS_URL": "redis://127.0.0.1:6379/0",
}
# The variables the service has promised from the start; the README's Configuration
# table lists these and the later ones.
CONTRACT_VARIABLES = {
    "ALPINE_DATABASE_URL",
    "ALPINE_REDIS_URL",
    "ALPINE_JWT_SECRET",
    "ALPINE_JWT_TTL_SECONDS",
    "ALPINE_CORS_ORIGINS",
    "ALPINE_RATE_LIMIT",
    "ALPINE_AUTH_RATE_LIMIT",
    "ALPINE_RATE_LIMIT_PRO",
    "ALPINE_RATE_LIMIT_ELITE",
    "ALPINE_RATE_LIMIT_FAIL_OPEN",
    "ALPINE_RATE_LIMIT_ENABLED",
    "ALPINE_CACHE_ENABLED",
    "ALPINE_TRUSTED_PROXIES",
    "ALPINE_DB_POOL_MIN",
    "ALPINE_DB_POOL_MAX",
    "ALPINE_ADMIN_EMAIL",
    "ALPINE_ADMIN_PASSWORD",
}

BAD_VALUES = [
    ("ALPINE_DATABASE_URL", "mysql://u:p@db/x"),
    ("ALPINE_DATABASE_URL", "postgresql:///no-host"),
    ("ALPINE_REDIS_URL", "http://127.0.0.1:6379"),
    ("ALPINE_REDIS_URL", "127.0.0.1:6379"),
    ("ALPINE_JWT_SECRET", "x" * 31),
    ("ALPINE_JWT_TTL_SECONDS", "an hour"),
    ("ALPINE_JWT_TTL_SECONDS", "59"),
    ("ALPINE_JWT_TTL_SECONDS", "604801"),
    ("ALPINE_ADMIN_CACHE_TTL_SECONDS", "0"),
    ("ALPINE_PLAN_PRICE_PRO_CENTS", "0"),
    ("ALPINE_PLAN_PRICE_ELITE_CENTS", "149.00"),
    ("ALPINE_CORS_ORIGINS", "*"),
    ("ALPINE_CORS_ORIGINS", "http://ok.example,https://app.example/path"),
    ("ALPINE_CORS_ORIGINS", "app.example.com"),
    ("ALPINE_RATE_LIMIT", "100"),
    ("ALPINE_RATE_LIMIT", "0/60"),
    ("ALPINE_RATE_LIMIT", "100/minute"),
    ("ALPINE_AUTH_RATE_LIMIT", "10/0"),
    ("ALPINE_RATE_LIMIT_PRO", "300"),
    ("ALPINE_RATE_LIMIT_ELITE", "1000/-60"),
    ("ALPINE_RATE_LIMIT_FAIL_OPEN", "maybe"),
    ("ALPINE_RATE_LIMIT_ENABLED", "2"),
    ("ALPINE_CACHE_ENABLED", "enabled"),
    ("ALPINE_DB_POOL_MIN", "-1"),
    ("ALPINE_DB_POOL_MAX", "0"),
    ("ALPINE_DB_POOL_MAX", "lots"),
    ("ALPINE_ADMIN_EMAIL", "admin"),
    ("ALPINE_ADMIN_PASSWORD", "short"),
    ("ALPINE_ADMIN_PASSWORD", "p" * 129),
    ("ALPINE_LOG_FORMAT", "xml"),
    ("ALPINE_TRUSTED_PROXIES", "10.0.0.0/8, not-an-ip"),
    ("ALPINE_DATABASE_POOLER", "session"),
    ("ALPINE_DATABASE_POOLER", "Transaction"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}:")
    assert "\n" not in message


@pytest.mark.parametrize("name", ["ALPINE_DATABASE_URL", "ALPINE_REDIS_URL"])
def test_missing_url_names_the_variable(name: str) -> None:
    env = {k: v for k, v in BASE.items() if k != name}
    with pytest.raises(ConfigError, match=f"^{name}: not set$"):
        load_settings(env)


def test_pool_min_above_max_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^ALPINE_DB_POOL_MIN:"):
        load_settings({**BASE, "ALPINE_DB_POOL_MIN": "30", "ALPINE_DB_POOL_MAX": "20"})


def test_secret_value_never_appears_in_the_message() -> None:
    secret = "s3cr3t-but-too-short"
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "ALPINE_JWT_SECRET": secret})
    assert secret not in str(caught.value)


def test_defaults_match_the_contract() -> None:
    settings = load_settings(BASE)
    assert settings.jwt_secret == ""
    assert settings.jwt_ttl_seconds == 3600
    assert settings.cors_origins == ("http://localhost:3000",)
    assert settings.rate_limit == RateSpec(100, 60)
    assert settings.auth_rate_limit == RateSpec(10, 60)
    assert settings.rate_limit_pro == RateSpec(300, 60)
    assert settings.rate_limit_elite == RateSpec(1000, 60)
    assert settings.rate_limit_fail_open is True
    assert settings.rate_limit_enabled is True
    assert settings.cache_enabled is True
    assert settings.admin_cache_ttl_seconds == 300
    assert settings.trusted_proxies == ()
    assert (settings.db_pool_min, settings.db_pool_max) == (5, 20)
    assert settings.admin_email == "admin@example.com"
    assert settings.database_pooler == "direct"


def test_good_values_are_parsed() -> None:
    settings = load_settings(
        {
            **BASE,
            "ALPINE_JWT_SECRET": "k" * 32,
            "ALPINE_JWT_TTL_SECONDS": " 900 ",
            "ALPINE_CORS_ORIGINS": "https://a.example, http://localhost:5173",
            "ALPINE_RATE_LIMIT": "250/30",
            "ALPINE_AUTH_RATE_LIMIT": "5/120",
            "ALPINE_RATE_LIMIT_FAIL_OPEN": "false",
            "ALPINE_RATE_LIMIT_ENABLED": "off",
            "ALPINE_CACHE_ENABLED": "0",
            "ALPINE_TRUSTED_PROXIES": "10.0.0.1,10.0.0.2",
            "ALPINE_DB_POOL_MIN": "0",
            "ALPINE_DB_POOL_MAX": "3",
            "ALPINE_ADMIN_EMAIL": "Ops@Example.COM",
            "ALPINE_ADMIN_PASSWORD": "long enough",
            "ALPINE_LOG_FORMAT": "text",
            "ALPINE_ADMIN_CACHE_TTL_SECONDS": "60",
            "ALPINE_DATABASE_POOLER": "transaction",
        }
    )
    assert settings.jwt_ttl_seconds == 900
    assert settings.cors_origins == ("https://a.example", "http://localhost:5173")
    assert settings.rate_limit == RateSpec(250, 30)
    assert settings.auth_rate_limit == RateSpec(5, 120)
    assert not (
        settings.rate_limit_fail_open or settings.rate_limit_enabled or settings.cache_enabled
    )
    assert settings.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert (settings.db_pool_min, settings.db_pool_max) == (0, 3)
    assert settings.admin_email == "ops@example.com"
    assert settings.log_format == "text"
    assert settings.admin_cache_ttl_seconds == 60
    assert settings.database_pooler == "transaction"
    assert (
        to_migration_url(settings.database_url)
        == "postgresql+psycopg://alpine:pw@127.0.0.1:5432/alpine"
    )


def test_empty_value_counts_as_unset() -> None:
    assert load_settings({**BASE, "ALPINE_JWT_TTL_SECONDS": ""}).jwt_ttl_seconds == 3600


def _variables_read_by_load_settings() -> set[str]:
    """Find, by behaviour, which ALPINE_* variables load_settings reads: setting a read
    variable to a probe value either changes the settings or is refused by name."""
    default = load_settings(BASE)
    read = set()
    for field in msgspec.structs.fields(Settings):
        name = f"ALPINE_{field.name.upper()}"
        for probe in ("zz", "http://zz.example"):
            try:
                changed = load_settings({**BASE, name: probe}) != default
            except ConfigError as exc:
                changed = str(exc).startswith(f"{name}:")
            if changed:
                read.add(name)
    return read


def test_env_example_lists_every_variable_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    listed = {}
    for number, line in enumerate(lines):
        if match := re.match(r"^(ALPINE_[A-Z_]+)=", line):
            listed[match.group(1)] = number
            above = number - 1
            while lines[above].startswith("ALPINE_"):  # variables documented as a group
                above -= 1
            assert lines[above].startswith("#"), f"{match.group(1)} has no comment"
    read = _variables_read_by_load_settings()
    assert read >= CONTRACT_VARIABLES
    assert set(listed) == read


def test_env_example_values_are_valid() -> None:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("ALPINE_"):
            name, _, value = line.partition("=")
            values[name] = value
    settings = load_settings(values)
    assert settings.rate_limit == RateSpec(100, 60)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alpine_api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "name", "value"),
    [
        (("serve",), "ALPINE_RATE_LIMIT", "lots"),
        (("serve",), "ALPINE_CORS_ORIGINS", "*"),
        (("serve",), "ALPINE_TRUSTED_PROXIES", "not-an-ip"),
        (("migrate", "list"), "ALPINE_DATABASE_URL", "mysql://u:p@db/x"),
        (("create-admin", "a@example.com"), "ALPINE_DB_POOL_MAX", "0"),
        (("serve",), "ALPINE_DATABASE_POOLER", "session"),
        # Migrations need a session: through a transaction pooler they are refused.
        (("migrate", "apply"), "ALPINE_DATABASE_POOLER", "transaction"),
        (("seed", "--users", "1", "--signals", "1"), "ALPINE_DATABASE_POOLER", "transaction"),
    ],
)
def test_cli_bad_value_is_one_line_and_a_nonzero_exit(
    command: tuple[str, ...], name: str, value: str
) -> None:
    env = clean_env(**{**BASE, "ALPINE_JWT_SECRET": "k" * 40, name: value})
    result = run_cli(*command, env=env)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("secret", "expected"),
    [(None, "ALPINE_JWT_SECRET: not set"), ("short-secret", "ALPINE_JWT_SECRET: must be")],
)
def test_serve_refuses_a_missing_or_short_jwt_secret(secret: str | None, expected: str) -> None:
    env = clean_env(**BASE)
    if secret is not None:
        env["ALPINE_JWT_SECRET"] = secret
    result = run_cli("serve", "--port", "1", env=env)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert secret is None or secret not in result.stderr


def test_create_app_refuses_a_bad_trusted_proxy_before_serving() -> None:
    """Settings made without load_settings: the gate's client rules are built with the app."""
    from alpine_api.app import create_app

    settings = msgspec.structs.replace(
        load_settings({**BASE, "ALPINE_JWT_SECRET": "k" * 40}), trusted_proxies=("not-an-ip",)
    )
    with pytest.raises(ConfigError, match=r"^ALPINE_TRUSTED_PROXIES: 'not-an-ip' is not an IP"):
        create_app(settings)
