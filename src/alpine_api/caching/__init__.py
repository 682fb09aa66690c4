"""The response cache, in Redis, scoped so nobody receives a response computed for
someone else: what is cached (policies), the gate's lookup (gate), cached responses
(responses) and invalidation."""

from alpine_api.caching.gate import GATE_ROUTES, gate_answer, gate_lookup, hand_on
from alpine_api.caching.invalidation import invalidate_signals, invalidate_user
from alpine_api.caching.policies import (
    ADMIN_ANALYTICS,
    ADMIN_REVENUE,
    ME,
    PROFILE,
    SIGNALS,
    CachePolicy,
    entry_location,
)
from alpine_api.caching.responses import cached_json, json_response, record_response

__all__ = [
    "ADMIN_ANALYTICS",
    "ADMIN_REVENUE",
    "GATE_ROUTES",
    "ME",
    "PROFILE",
    "SIGNALS",
    "CachePolicy",
    "cached_json",
    "entry_location",
    "gate_answer",
    "gate_lookup",
    "hand_on",
    "invalidate_signals",
    "invalidate_user",
    "json_response",
    "record_response",
]
