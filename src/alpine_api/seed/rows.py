"""The synthetic rows of `alpine-api seed`: each table's columns and a maker per table
that draws one chunk of rows at a time (drawn in bulk, C-level loops, not per row)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from alpine_api.config import TIERS

CHUNK_ROWS = 50_000
DAY = 86_400.0

PLAN_PRICES = {"starter": 1900, "pro": 4900, "elite": 14900}
USER_TIER_WEIGHTS = (0.70, 0.22, 0.08)
SIGNAL_TIER_WEIGHTS = (0.60, 0.30, 0.10)
# symbol, typical price; earlier symbols are drawn far more often (Zipf-like weights)
SYMBOLS: tuple[tuple[str, float], ...] = (
    ("BTC/USD", 64000), ("ETH/USD", 3200), ("AAPL", 190), ("NVDA", 120), ("TSLA", 240),
    ("SPY", 520), ("QQQ", 440), ("MSFT", 420), ("EUR/USD", 1.08), ("SOL/USD", 150),
    ("AMZN", 180), ("META", 500), ("GOOGL", 170), ("GBP/USD", 1.27), ("USD/JPY", 151),
    ("XAU/USD", 2350), ("AMD", 160), ("NFLX", 620), ("COIN", 230), ("BRK.B", 410),
    ("JPM", 195), ("V", 275), ("XRP/USD", 0.52), ("DOGE/USD", 0.15), ("ADA/USD", 0.45),
    ("AVGO", 1350), ("ORCL", 125), ("INTC", 31), ("BA", 180), ("DIS", 105),
    ("WMT", 60), ("KO", 62), ("PEP", 170), ("XOM", 115), ("CVX", 158),
    ("USD/CHF", 0.91), ("AUD/USD", 0.66), ("LTC/USD", 82), ("DOT/USD", 7.1), ("CL-F", 79),
)  # fmt: skip
SYMBOL_WEIGHTS = tuple(1 / (rank + 1) for rank in range(len(SYMBOLS)))
FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kira", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sam", "Tariq",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Berg", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka",
    "Weber",
)  # fmt: skip
NOTES = (
    "Breakout above resistance on rising volume.",
    "Pullback to the 50-day average; trend intact.",
    "Earnings momentum; tight stop below the gap.",
    "Range low retest, risk defined.",
    None, None, None,
)  # fmt: skip
BILLING_MESSAGES = (
    ("Payment received", "Thank you: your monthly plan payment went through."),
    ("Plan renewed", "Your plan renewed for another month."),
)
SYSTEM_MESSAGES = (
    ("Scheduled maintenance", "The service will be briefly unavailable on Sunday 02:00 UTC."),
    ("New feature", "Signals can now be filtered by symbol."),
    ("Welcome", "Your account is ready. Signals for your tier appear in your feed."),
)
USER_COLUMNS = (
    "email",
    "password_hash",
    "full_name",
    "tier",
    "is_active",
    "created_at",
    "updated_at",
)

SIGNAL_COLUMNS = (
    "symbol",
    "direction",
    "entry_price",
    "target_price",
    "stop_loss",
    "confidence",
    "tier",
    "is_active",
    "note",
    "created_at",
    "updated_at",
)

SUBSCRIPTION_COLUMNS = (
    "user_id",
    "tier",
    "status",
    "price_cents",
    "currency",
    "started_at",
    "current_period_end",
)

PAYMENT_COLUMNS = ("user_id", "subscription_id", "amount_cents", "currency", "created_at")
NOTIFICATION_COLUMNS = ("user_id", "kind", "title", "body", "signal_id", "is_read", "created_at")


Row = tuple[Any, ...]


Make = Callable[[int, int], list[Row]]  # (first row number, count) -> rows


def chunks(total: int, make: Make) -> Iterator[list[Row]]:
    for start in range(0, total, CHUNK_ROWS):
        yield make(start, min(CHUNK_ROWS, total - start))


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _randoms(rng: random.Random, n: int) -> list[float]:
    return [rng.random() for _ in range(n)]


def random_ages(rng: random.Random, n: int, days: float, power: float = 1.0) -> list[timedelta]:
    """`n` ages up to `days`, skewed towards zero (recent) when power > 1."""
    return [timedelta(seconds=(r**power) * days * DAY) for r in [rng.random() for _ in range(n)]]


def user_maker(now: datetime, rng: random.Random, tag: str, password_hash: str) -> Make:
    tier_weights = _cumulative(USER_TIER_WEIGHTS)

    def make(start: int, n: int) -> list[Row]:
        firsts = rng.choices(FIRST_NAMES, k=n)
        lasts = rng.choices(LAST_NAMES, k=n)
        tiers = rng.choices(TIERS, cum_weights=tier_weights, k=n)
        ages = random_ages(rng, n, 365, power=2.0)
        return [
            (
                f"{first.lower()}.{last.lower()}.{start + i}.{tag}@example.com",
                password_hash,
                f"{first} {last}",
                tiers[i],
                rng.random() < 0.93,
                now - ages[i],
                now - ages[i],
            )
            for i, (first, last) in enumerate(zip(firsts, lasts, strict=True))
        ]

    return make


def signal_maker(now: datetime, rng: random.Random) -> Make:
    symbol_weights = _cumulative(SYMBOL_WEIGHTS)
    tier_weights = _cumulative(SIGNAL_TIER_WEIGHTS)
    span = 180 * DAY

    def make(_start: int, n: int) -> list[Row]:
        symbols = rng.choices(SYMBOLS, cum_weights=symbol_weights, k=n)
        longs = [r < 0.55 for r in _randoms(rng, n)]
        entries = [
            round(price * (0.92 + 0.16 * r), 6)
            for (_, price), r in zip(symbols, _randoms(rng, n), strict=True)
        ]
        moves = [0.02 + 0.10 * r for r in _randoms(rng, n)]  # target distance, share of entry
        risks = [0.01 + 0.05 * r for r in _randoms(rng, n)]  # stop distance, share of entry
        ages = _randoms(rng, n)
        created = [now - timedelta(seconds=age * span) for age in ages]
        return list(
            zip(
                [symbol for symbol, _ in symbols],
                ["long" if long else "short" for long in longs],
                entries,
                [round(e * (1 + m if lg else 1 - 0.9 * m), 6)
                 for e, m, lg in zip(entries, moves, longs, strict=True)],
                [round(e * (1 - r if lg else 1 + r), 6)
                 for e, r, lg in zip(entries, risks, longs, strict=True)],
                [round(r**0.5, 4) for r in _randoms(rng, n)],  # skewed high: P(>= 0.85) ~ 28%
                rng.choices(TIERS, cum_weights=tier_weights, k=n),
                # older signals are more often closed
                [r > age * 0.4 for r, age in zip(_randoms(rng, n), ages, strict=True)],
                rng.choices(NOTES, k=n),
                created,
                created,
                strict=True,
            )
        )  # fmt: skip

    return make


def notification_maker(now: datetime, rng: random.Random, users: list[int]) -> Make:
    """Rows of one chunk, drawn in bulk per kind (C-level loops, not per row)."""

    def rows(kind: str, n: int) -> list[Row]:
        messages = rng.choices(SYSTEM_MESSAGES if kind == "system" else BILLING_MESSAGES, k=n)
        return list(
            zip(
                rng.choices(users, k=n),
                itertools.repeat(kind),
                [title for title, _ in messages],
                [body for _, body in messages],
                itertools.repeat(None),
                [r < 0.7 for r in _randoms(rng, n)],
                [now - age for age in random_ages(rng, n, 180)],
            )
        )

    def make(_start: int, n: int) -> list[Row]:
        billing = sum(r < 0.7 for r in _randoms(rng, n))
        return rows("billing", billing) + rows("system", n - billing)

    return make
