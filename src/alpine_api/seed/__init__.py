"""Synthetic data in bulk, loaded with COPY (asyncpg `copy_records_to_table`).

`alpine-api seed --users N --signals M [--notifications K]` adds, next to whatever is
there already:
- users: 70% starter, 22% pro, 8% elite; 93% active; sign-ups over the past year,
  more of them recent; every seeded user shares ONE password hash (hashing a million
  argon2id passwords would take hours), the password being SEED_PASSWORD;
- an active subscription for every pro and elite user, started within the past six
  months at the plan's price, with one payment per month since it started;
- signals over the past 180 days on ~40 symbols (a few popular ones dominate),
  55% long, confidence skewed high (sqrt of a uniform: 28% at 0.85 or more), tiers
  60/30/10%, older ones more often
  inactive;
- each signal's notification, once per tier channel that may see it (as publishing
  writes it: users' feeds derive signal notifications when read);
- personal notifications: 70% `billing`, 30% `system`, to active users over the past
  180 days, 70% of them read.

Rows are generated in chunks in a worker thread while the previous chunk is copied, so
Python and PostgreSQL work at the same time. Ids come from the tables' identity columns;
the rows just loaded are read back by id range to link the next table to them.
Finally the tables are ANALYZEd so the planner knows their new size at once.
"""

from alpine_api.seed.load import SEED_PASSWORD, SeedCounts, seed, seed_demo_if_empty

__all__ = ["SEED_PASSWORD", "SeedCounts", "seed", "seed_demo_if_empty"]
