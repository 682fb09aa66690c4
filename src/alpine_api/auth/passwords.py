"""argon2id password hashing that never competes with serving requests.

Hashing is deliberately expensive CPU work. It runs on one dedicated thread per worker,
lowered to nice 10 (about a tenth of a core's share when the CPU is contended), so a
burst of logins queues behind itself instead of taking the CPU from the event loops:
other requests keep their latency, logins still progress under full load.
argon2-cffi releases the GIL while hashing, so the event loop runs meanwhile.

Parameters: argon2id, t=2, m=19 MiB, p=1 (the OWASP recommendation). A stored hash made
with other parameters is replaced at the next successful login (check_needs_rehash).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHING_NICENESS = 10
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# A real hash of a random password: verifying against it costs what a real check
# costs, so an unknown email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no user has this password: it only spends the time")


def _lower_priority() -> None:
    with contextlib.suppress(OSError):  # per-thread on Linux; best effort elsewhere
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_executors: dict[int, ThreadPoolExecutor] = {}


def _executor() -> ThreadPoolExecutor:
    """This process's hashing thread (Granian forks workers: a parent's thread is not theirs)."""
    pid = os.getpid()
    if pid not in _executors:
        _executors[pid] = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="argon2", initializer=_lower_priority
        )
    return _executors[pid]


def _verify(password_hash: str | None, password: str) -> tuple[bool, bool]:
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False, False
    if password_hash is None:
        return False, False
    return True, _hasher.check_needs_rehash(password_hash)


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_executor(), _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). A None hash (unknown user) never matches, in equal time."""
    return await asyncio.get_running_loop().run_in_executor(
        _executor(), _verify, password_hash, password
    )
