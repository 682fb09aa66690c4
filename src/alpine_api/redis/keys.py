"""Every Redis key the service uses, in one place.

Keys that one script touches share a hash tag (the part in braces), so each script's
keys live in one slot and the same scripts run unchanged on Redis / Valkey Cluster:
- `{u:<id>}:...`   a user's limiter state, revocations, record and cached responses
- `{ip:<addr>}:...` limiter states counted per client IP (anonymous clients, refused
  tokens, login and register)
- `{c:<ns>}:...`   a shared cache namespace (signal pages per tier, admin statistics)

Keys come in families, each declared once below with what it holds: a family is a
function that builds its keys, so a key's shape is written in one place only.
"""

from __future__ import annotations

from collections.abc import Callable

# Closures rather than callable objects: a key is built several times per request, and a
# plain function call is the cheapest way to run one f-string.


def _tag(kind: str) -> Callable[[int | str], str]:
    """`{<kind>:<value>}`: the hash tag of one user, client IP or cache namespace."""

    def tag(value: int | str) -> str:
        return f"{{{kind}:{value}}}"

    return tag


def _tag_key(kind: str) -> Callable[[str, str], str]:
    """`<tag>:<kind>:<name>`: one of several keys of a kind under any tag."""

    def key(tag: str, name: str) -> str:
        return f"{tag}:{kind}:{name}"

    return key


def _user_key(kind: str) -> Callable[[int], str]:
    """`{u:<id>}:<kind>` (the user's tag, written out): the one key of a kind a user has."""

    def key(user_id: int) -> str:
        return f"{{u:{user_id}}}:{kind}"

    return key


user_tag = _tag("u")
ip_tag = _tag("ip")
namespace_tag = _tag("c")

# Hash of the client's request counts per sub-window of the window (gate.lua), per policy.
limiter = _tag_key("lim")
# A cached response (cache_get.lua, cache_set.lua, gate.lua), per variant.
cache_entry = _tag_key("e")
# The compute lock of a cached response's variant: one caller computes a miss.
cache_lock = _tag_key("lock")

# Hash jti -> expiry (ms) of the user's revoked tokens; field `_synced` marks it complete
# (loaded from PostgreSQL). Without the marker the state is unknown.
revoked = _user_key("revoked")
# The user's public record as the JSON body of GET /api/auth/me.
user_record = _user_key("user")
# Sorted set of the user's open event streams: member -> lease expiry (ms).
stream_slots = _user_key("streams")


def user_limiter(user_id: int) -> str:
    """A user's limiter: one key whatever their tier, so a tier change keeps the requests
    the window has already counted."""
    return limiter(user_tag(user_id), "default")


def generation(tag: str) -> str:
    """Counter bumped by every write that changes what the tag's cached responses show."""
    return f"{tag}:gen"


# The pub/sub channel of signal events (a sharded channel on a cluster).
SIGNAL_EVENTS_CHANNEL = "{c:signal-events}:live"
