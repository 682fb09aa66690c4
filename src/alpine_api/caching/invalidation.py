"""Invalidation without key scans: each namespace (a user's, a shared one) has a
generation counter, stored entries remember the generation they were computed under,
and writes bump it: one INCR makes every entry of the namespace stale on every worker."""

from __future__ import annotations

from alpine_api.caching.policies import SIGNALS
from alpine_api.redis import keys
from alpine_api.services import Services


async def invalidate_user(svc: Services, user_id: int) -> None:
    """After a write that changes a user (profile, tier, activation, subscription):
    drops the cached record and makes every cached response of theirs stale."""
    await svc.deferred.run(svc.user_state.forget, user_id)


async def invalidate_signals(svc: Services) -> None:
    """After any signal write: every tier's cached signal pages become stale."""
    await svc.deferred.run(svc.cache.bump, keys.namespace_tag(SIGNALS.name))
