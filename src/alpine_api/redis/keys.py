"""Every Redis key the service uses, in one place.

Keys that one script touches share a hash tag (the part in braces), so each script's
keys live in one slot and the same scripts run unchanged on Redis / Valkey Cluster:
- `{u:<id>}:...`   a user's limiter state, revocations, record and cached responses
- `{ip:<addr>}:...` limiter states counted per client IP (anonymous clients, refused
  tokens, login and register)
- `{c:<ns>}:...`   a shared cache namespace (signal pages per tier, admin statistics)
"""

from __future__ import annotations


def user_tag(user_id: int) -> str:
    return f"{{u:{user_id}}}"


def ip_tag(address: str) -> str:
    return f"{{ip:{address}}}"


def namespace_tag(namespace: str) -> str:
    return f"{{c:{namespace}}}"


def limiter(tag: str, policy: str) -> str:
    """Hash of the client's request counts per sub-window of the window (gate.lua)."""
    return f"{tag}:lim:{policy}"


def user_limiter(user_id: int) -> str:
    """A user's limiter: one key whatever their tier, so a tier change keeps the requests
    the window has already counted."""
    return limiter(user_tag(user_id), "default")


def revoked(user_id: int) -> str:
    """Hash jti -> expiry (ms) of the user's revoked tokens; field `_synced` marks it
    complete (loaded from PostgreSQL). Without the marker the state is unknown."""
    return f"{user_tag(user_id)}:revoked"


def user_record(user_id: int) -> str:
    """The user's public record as the JSON body of GET /api/auth/me."""
    return f"{user_tag(user_id)}:user"


def generation(tag: str) -> str:
    """Counter bumped by every write that changes what the tag's cached responses show."""
    return f"{tag}:gen"


def cache_entry(tag: str, variant: str) -> str:
    return f"{tag}:e:{variant}"


def cache_lock(tag: str, variant: str) -> str:
    return f"{tag}:lock:{variant}"


def stream_slots(user_id: int) -> str:
    """Sorted set of the user's open event streams: member -> lease expiry (ms)."""
    return f"{user_tag(user_id)}:streams"


# The pub/sub channel of signal events (a sharded channel on a cluster).
SIGNAL_EVENTS_CHANNEL = "{c:signal-events}:live"
