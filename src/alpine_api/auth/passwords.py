"""argon2id password hashing, run in a worker thread so a burst of logins never
stalls the event loop (one hash takes tens of milliseconds of CPU by design)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# A real hash of a random password: verifying against it costs what a real check
# costs, so an unknown email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no user has this password: it only spends the time")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> tuple[bool, bool]:
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False, False
    if password_hash is None:
        return False, False
    return True, _hasher.check_needs_rehash(password_hash)


async def verify_password(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). A None hash (unknown user) never matches, in equal time."""
    return await asyncio.to_thread(_verify, password_hash, password)
