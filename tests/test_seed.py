"""`alpine-api seed`: bulk data through COPY with realistic, consistent distributions;
the demo set of `dev` loads only on the first run."""

from __future__ import annotations

import subprocess
import sys

import asyncpg

from alpine_api.seed import seed, seed_demo_if_empty
from tests.conftest import settings_env


async def test_seed_loads_consistent_data(database_url: str, db: asyncpg.Connection) -> None:
    counts = await seed(
        database_url, users=2000, signals=1500, notifications=8000, progress=False, random_seed=7
    )
    assert (counts.users, counts.signals, counts.notifications) == (2000, 1500, 8000)
    assert await db.fetchval("SELECT count(*) FROM users") == 2000
    assert await db.fetchval("SELECT count(*) FROM signals") == 1500
    assert await db.fetchval("SELECT count(*) FROM notifications") == 8000

    tiers = dict(await db.fetch("SELECT tier::text, count(*) FROM users GROUP BY 1"))
    assert tiers["starter"] > tiers["pro"] > tiers["elite"] > 0
    # Paying users have exactly one active subscription at their tier, with payments.
    mismatched = await db.fetchval(
        "SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id"
        " WHERE s.status = 'active' AND s.tier <> u.tier"
    )
    assert mismatched == 0
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == counts.subscriptions > 0
    assert await db.fetchval("SELECT count(*) FROM payments") == counts.payments
    assert counts.payments >= counts.subscriptions
    # Signal notifications are derived: one item per signal, in each tier channel that
    # may see it, with one id that no personal notification has.
    below = await db.fetchval(
        "SELECT count(*) FROM signal_notifications n JOIN signals s ON s.id = n.signal_id"
        " WHERE n.audience < s.tier"
    )
    assert below == 0
    items = await db.fetchrow(
        "SELECT count(DISTINCT signal_id) AS signals, count(DISTINCT (signal_id, id)) AS ids,"
        " count(*) AS rows FROM signal_notifications"
    )
    channels = await db.fetchval("SELECT sum(cardinality(enum_range(tier, NULL))) FROM signals")
    assert (items["signals"], items["ids"], items["rows"]) == (1500, 1500, channels)
    shared = await db.fetchval(
        "SELECT count(*) FROM signal_notifications s JOIN notifications n ON n.id = s.id"
    )
    assert shared == 0
    kinds = dict(await db.fetch("SELECT kind, count(*) FROM notifications GROUP BY 1"))
    assert kinds["billing"] > kinds["system"] > 0 and "signal" not in kinds
    span = await db.fetchval("SELECT max(created_at) - min(created_at) FROM signals")
    assert span.days > 90  # spread over months
    # Every index the migrations define is there and valid after the load.
    invalid = await db.fetchval("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
    assert invalid == 0
    names = {r[0] for r in await db.fetch("SELECT indexname FROM pg_indexes")}
    assert {"idx_signal_active_confidence_created", "idx_notif_user_read_created"} <= names


async def test_demo_data_loads_on_first_run_only(database_url: str, db: asyncpg.Connection) -> None:
    first = await seed_demo_if_empty(database_url)
    assert first is not None and first.signals > 0
    users = await db.fetchval("SELECT count(*) FROM users")
    assert await seed_demo_if_empty(database_url) is None
    assert await db.fetchval("SELECT count(*) FROM users") == users


def test_seed_command(database_url: str, redis_url: str) -> None:
    env = settings_env(database_url, redis_url)
    result = subprocess.run(
        [sys.executable, "-m", "alpine_api.cli", "seed", "--users", "300", "--signals", "200",
         "--notifications", "1000"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "seeded 300 users" in result.stdout and "1000 notifications" in result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "alpine_api.cli", "seed", "--users", "-1", "--signals", "1"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "--users" in bad.stderr
