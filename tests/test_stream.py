"""GET /api/signals/stream on real servers: `serve` with two workers, Valkey (single and
cluster) and PostgreSQL; publish on one side, receive on the other."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg
import httpx

from tests.sse_support import Stream
from tests.support import bearer, insert_user

_symbols = itertools.count()


def signal_body(tier: str = "starter") -> dict[str, Any]:
    return {
        "symbol": f"S{next(_symbols)}",
        "direction": "long",
        "entry_price": 10.0,
        "target_price": 12.0,
        "stop_loss": 9.0,
        "confidence": 0.7,
        "tier": tier,
    }


async def publish(client: httpx.AsyncClient, admin: dict[str, str], tier: str = "starter") -> int:
    response = await client.post("/api/signals", json=signal_body(tier), headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_events_are_tier_filtered_and_carry_the_signal(
    serve: Any, db: asyncpg.Connection
) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True, tier="elite"))
    starter = bearer(await insert_user(db, "s@example.com"))
    elite = bearer(await insert_user(db, "e@example.com", tier="elite"))
    server = serve(workers=2)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
        Stream(client, starter) as low,
        Stream(client, elite) as high,
    ):
        elite_id = await publish(client, admin, "elite")
        starter_id = await publish(client, admin, "starter")
        patched = await client.patch(
            f"/api/signals/{starter_id}", json={"is_active": False}, headers=admin
        )
        assert patched.status_code == 200
        seen_high = await high.take(3)
        seen_low = await low.take(2)
        assert [(e.event, e.data["id"]) for e in seen_high] == [
            ("signal", elite_id),
            ("signal", starter_id),
            ("signal.updated", starter_id),
        ]
        assert [e.id for e in seen_high] == [1, 2, 3]
        assert [(e.id, e.event, e.data["id"]) for e in seen_low] == [
            (2, "signal", starter_id),
            (3, "signal.updated", starter_id),
        ]
        assert seen_low[1].data == patched.json()
        assert seen_low[1].data["is_active"] is False
        metrics = (await client.get("/metrics")).text
        assert "signal_streams_open 2.0" in metrics
        assert low.pending() == 0
