"""The lean pipelined EVALSHA client against a real Valkey: auth and database selection,
replies matched to their callers under concurrency, NOSCRIPT, timeouts, restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from alpine_api.embedded import EmbeddedValkey
from alpine_api.redis.lean import BoundScript, LeanClient


@pytest.fixture
def valkey(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = EmbeddedValkey(tmp_path / "valkey")
    server.start("--requirepass", "s3cret")
    yield server
    server.stop()


def _url(valkey: EmbeddedValkey, db: int = 3) -> str:
    return f"redis://:s3cret@127.0.0.1:{valkey.port}/{db}"


async def test_password_database_and_concurrent_replies(valkey: EmbeddedValkey) -> None:
    client = LeanClient(_url(valkey), timeout=1.0)
    gate = BoundScript(client, "gate")
    # 200 concurrent calls, each on its own key: every caller must get its own reply.
    results = await asyncio.gather(
        *(gate(keys=[f"{{ip:{i}}}:rl:t"], args=["n", "", "b", 1, i + 1, 60000]) for i in range(200))
    )
    assert [r[2] for r in results] == list(range(200))  # remaining = limit - 1
    check = aioredis.Redis.from_url(_url(valkey))
    assert await check.hget("{ip:7}:rl:t", "n") == b"1"  # written to database 3
    assert await aioredis.Redis.from_url(_url(valkey, 0)).dbsize() == 0
    await check.aclose()
    client.close()


async def test_noscript_and_restart_are_recovered(valkey: EmbeddedValkey) -> None:
    client = LeanClient(_url(valkey), timeout=1.0)
    gate = BoundScript(client, "gate")
    assert (await gate(keys=["{ip:a}:rl:t"], args=["1", "", "b", 1, 5, 60000]))[2] == 4
    check = aioredis.Redis.from_url(_url(valkey))
    await check.script_flush()
    assert (await gate(keys=["{ip:a}:rl:t"], args=["2", "", "b", 1, 5, 60000]))[2] == 3
    await check.aclose()
    valkey.stop()
    with pytest.raises((ConnectionError, OSError)):
        await gate(keys=["{ip:a}:rl:t"], args=["3", "", "b", 1, 5, 60000])
    valkey.start("--requirepass", "s3cret")  # empty: no data, no scripts
    assert (await gate(keys=["{ip:a}:rl:t"], args=["4", "", "b", 1, 5, 60000]))[2] == 4
    client.close()


async def test_a_slow_reply_fails_only_its_caller_and_stays_matched(
    valkey: EmbeddedValkey,
) -> None:
    client = LeanClient(_url(valkey), timeout=0.2)
    gate = BoundScript(client, "gate")
    await gate(keys=["{ip:b}:rl:t"], args=["1", "", "b", 1, 5, 60000])
    admin = aioredis.Redis.from_url(_url(valkey))
    await admin.execute_command("CLIENT", "PAUSE", "500", "ALL")
    with pytest.raises(TimeoutError):
        await gate(keys=["{ip:b}:rl:t"], args=["2", "", "b", 1, 5, 60000])
    await asyncio.sleep(0.6)
    # Redis ran call 2 after the pause; its late reply must not be taken for call 3's.
    assert (await gate(keys=["{ip:b}:rl:t"], args=["3", "", "b", 1, 5, 60000]))[2] == 2
    await admin.aclose()
    client.close()


async def test_a_silent_connection_is_replaced(valkey: EmbeddedValkey) -> None:
    client = LeanClient(_url(valkey), timeout=0.1)
    gate = BoundScript(client, "gate")
    await gate(keys=["{ip:c}:rl:t"], args=["1", "", "b", 1, 50, 60000])
    first = client._protocol
    admin = aioredis.Redis.from_url(_url(valkey))
    await admin.execute_command("CLIENT", "PAUSE", "800", "ALL")
    for n in range(3):
        with pytest.raises((TimeoutError, ConnectionError)):
            await gate(keys=["{ip:c}:rl:t"], args=[f"x{n}", "", "b", 1, 50, 60000])
    await asyncio.sleep(0.9)
    assert (await gate(keys=["{ip:c}:rl:t"], args=["2", "", "b", 1, 50, 60000]))[1] == 1
    assert client._protocol is not first
    await admin.aclose()
    client.close()
