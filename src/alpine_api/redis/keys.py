"""Every Redis key the service uses, in one place.

Keys that one script touches share a hash tag (the part in braces), so each script's
keys live in one slot and the same scripts run unchanged on Redis / Valkey Cluster:
- `{u:<id>}:...`   a user's limiter state, revocations, record and cached responses
- `{ip:<addr>}:...` limiter states counted per client IP (anonymous clients, refused
  tokens, login and register)
- `{c:<ns>}:...`   a shared cache namespace (signal pages per tier, admin statistics)

Keys come in families, each declared once below with what it holds: a family is a
callable that builds its keys, so a key's shape is written in one place only.
"""

from __future__ import annotations


class _Tag:
    """`{<kind>:<value>}`: the hash tag of one user, client IP or cache namespace."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, value: int | str) -> str:
        return f"{{{self.kind}:{value}}}"


class _TagKey:
    """`<tag>:<kind>:<name>`: one of several keys of a kind under any tag."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, tag: str, name: str) -> str:
        return f"{tag}:{self.kind}:{name}"


class _UserKey:
    """`{u:<id>}:<kind>`: the one key of a kind that a user has."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, user_id: int) -> str:
        return f"{user_tag(user_id)}:{self.kind}"


user_tag = _Tag("u")
ip_tag = _Tag("ip")
namespace_tag = _Tag("c")

# Hash of the client's request counts per sub-window of the window (gate.lua), per policy.
limiter = _TagKey("lim")
# A cached response (cache_get.lua, cache_set.lua, gate.lua), per variant.
cache_entry = _TagKey("e")
# The compute lock of a cached response's variant: one caller computes a miss.
cache_lock = _TagKey("lock")

# Hash jti -> expiry (ms) of the user's revoked tokens; field `_synced` marks it complete
# (loaded from PostgreSQL). Without the marker the state is unknown.
revoked = _UserKey("revoked")
# The user's public record as the JSON body of GET /api/auth/me.
user_record = _UserKey("user")
# Sorted set of the user's open event streams: member -> lease expiry (ms).
stream_slots = _UserKey("streams")


def user_limiter(user_id: int) -> str:
    """A user's limiter: one key whatever their tier, so a tier change keeps the requests
    the window has already counted."""
    return limiter(user_tag(user_id), "default")


def generation(tag: str) -> str:
    """Counter bumped by every write that changes what the tag's cached responses show."""
    return f"{tag}:gen"


# The pub/sub channel of signal events (a sharded channel on a cluster).
SIGNAL_EVENTS_CHANNEL = "{c:signal-events}:live"
