"""A steady mix of reads and writes against a running service, with a ledger of what the
service acknowledged, for bench/stress.py and the fault tests (tests import it from here;
bench never imports tests).

Each user runs one loop of requests in turn (so one user's writes never race each other):
/me, the signal feed, the profile, a profile rename, notifications, a subscription change,
/health. One admin loop creates and patches signals and reads the statistics. Every
answer is recorded (status, latency, when); every acknowledged write (a 2xx) is kept so
`verify` can check afterwards that the database holds it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import httpx

TIERS = ("pro", "elite", "starter")
SIGNAL = {
    "symbol": "STRS",
    "direction": "long",
    "entry_price": 10.5,
    "target_price": 12.0,
    "stop_loss": 9.0,
    "confidence": 0.7,
    "tier": "starter",
}


@dataclass
class Answer:
    at: float  # time.monotonic() when the request was sent
    seconds: float
    status: int  # 0: no HTTP answer (connection refused, reset or timed out)
    route: str


@dataclass
class Ledger:
    answers: list[Answer] = field(default_factory=list)
    transport_errors: Counter[str] = field(default_factory=Counter)
    subscriptions: set[int] = field(default_factory=set)  # acknowledged (201) ids
    signals: set[int] = field(default_factory=set)  # created (201) ids
    patched_signals: dict[int, float] = field(default_factory=dict)  # id -> confidence
    # user id -> (last acknowledged full name, names sent after it whose fate is unknown)
    names: dict[int, tuple[str | None, list[str]]] = field(default_factory=dict)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.at < end]

    def statuses(self, answers: list[Answer] | None = None) -> Counter[int]:
        return Counter(a.status for a in (self.answers if answers is None else answers))


@dataclass
class Integrity:
    checked: int
    missing: list[str]


class LoadMix:
    def __init__(
        self, base_url: str, tokens: dict[int, str], admin_token: str, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url
        self.tokens = tokens  # user id -> access token
        self.admin_token = admin_token
        self.timeout = timeout
        self.ledger = Ledger()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> Ledger:
        """Send load until stop() is called; returns the ledger."""
        limits = httpx.Limits(max_connections=len(self.tokens) + 2)
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout, limits=limits
        ) as http:
            loops = [self._user(http, uid, token) for uid, token in self.tokens.items()]
            await asyncio.gather(*loops, self._admin(http))
        return self.ledger

    async def _call(
        self, http: httpx.AsyncClient, method: str, path: str, token: str | None, **kw: object
    ) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.monotonic()
        route = f"{method} {path.split('?')[0]}"
        try:
            response = await http.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self.ledger.transport_errors[type(exc).__name__] += 1
            self.ledger.answers.append(Answer(started, time.monotonic() - started, 0, route))
            await asyncio.sleep(0.05)
            return None
        self.ledger.answers.append(
            Answer(started, time.monotonic() - started, response.status_code, route)
        )
        return response

    async def _user(self, http: httpx.AsyncClient, user_id: int, token: str) -> None:
        self.ledger.names[user_id] = (None, [])
        tiers = itertools.cycle(TIERS)
        for n in itertools.count():
            if self._stop.is_set():
                return
            await self._call(http, "GET", "/api/auth/me", token)
            await self._call(http, "GET", "/api/signals/subscribed?limit=20", token)
            await self._call(http, "GET", "/api/users/profile", token)
            name = f"user {user_id} rename {n}"
            acked, unknown = self.ledger.names[user_id]
            self.ledger.names[user_id] = (acked, [*unknown, name])
            response = await self._call(
                http, "PATCH", "/api/users/profile", token, json={"full_name": name}
            )
            if response is not None and response.status_code == 200:
                self.ledger.names[user_id] = (name, [])
            await self._call(http, "GET", "/api/notifications?limit=10", token)
            response = await self._call(
                http, "POST", "/api/subscriptions", token, json={"tier": next(tiers)}
            )
            if response is not None and response.status_code == 201:
                self.ledger.subscriptions.add(int(response.json()["id"]))
            await self._call(http, "GET", "/health", None)

    async def _admin(self, http: httpx.AsyncClient) -> None:
        token = self.admin_token
        for n in itertools.count():
            if self._stop.is_set():
                return
            response = await self._call(http, "POST", "/api/signals", token, json=SIGNAL)
            if response is not None and response.status_code == 201:
                signal_id = int(response.json()["id"])
                self.ledger.signals.add(signal_id)
                confidence = round((n % 100) / 100, 2)
                patched = await self._call(
                    http,
                    "PATCH",
                    f"/api/signals/{signal_id}",
                    token,
                    json={"confidence": confidence},
                )
                if patched is not None and patched.status_code == 200:
                    self.ledger.patched_signals[signal_id] = confidence
            await self._call(http, "GET", "/api/admin/analytics", token)
            await asyncio.sleep(0.05)


async def verify(database_url: str, ledger: Ledger) -> Integrity:
    """Every acknowledged write is in the database (read with a connection of our own)."""
    conn = await asyncpg.connect(database_url)
    missing: list[str] = []
    try:
        subs = await conn.fetch(
            "SELECT s.id, count(p.id) AS payments FROM subscriptions s"
            " LEFT JOIN payments p ON p.subscription_id = s.id"
            " WHERE s.id = ANY($1::bigint[]) GROUP BY s.id",
            list(ledger.subscriptions),
        )
        paid = {row["id"] for row in subs if row["payments"] == 1}
        missing += [f"subscription {i} (or its payment)" for i in ledger.subscriptions - paid]
        rows = await conn.fetch(
            "SELECT id, confidence FROM signals WHERE id = ANY($1::bigint[])",
            list(ledger.signals),
        )
        found = {row["id"]: row["confidence"] for row in rows}
        missing += [f"signal {i}" for i in ledger.signals - set(found)]
        missing += [
            f"signal {i} confidence {c}"
            for i, c in ledger.patched_signals.items()
            if i in found and abs(found[i] - c) > 1e-9
        ]
        names = dict(
            await conn.fetch(
                "SELECT id, full_name FROM users WHERE id = ANY($1::bigint[])",
                list(ledger.names),
            )
        )
        for user_id, (acked, unknown) in ledger.names.items():
            # The acknowledged rename, or a later one whose answer was lost (committed,
            # then the connection died): never an older value.
            if acked is not None and names.get(user_id) not in (acked, *unknown):
                missing.append(f"user {user_id} name {acked!r} (found {names.get(user_id)!r})")
    finally:
        await conn.close()
    checked = len(ledger.subscriptions) + len(ledger.signals) + len(ledger.patched_signals)
    checked += sum(1 for acked, _ in ledger.names.values() if acked is not None)
    return Integrity(checked, missing)
