"""The relay publishes a staged event as soon as the transaction that staged it has ended, not
at its next poll, and never before that transaction has committed."""

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import pytest

from contracts.events import ReferralAccepted
from services.kit import outbox
from services.kit.app import KIT_MIGRATIONS
from services.kit.database import create_pool, migrate
from services.kit.outbox import OutboxRelay
from tests.factories import sample

pytestmark = pytest.mark.integration

NEVER_S = 600.0  # an idle poll that no test waits out


class RecordingPublisher:
    """Stands in for Kafka: what the relay hands over, and when."""

    def __init__(self) -> None:
        self.sent: list[bytes | None] = []
        self.arrived = asyncio.Event()

    async def send_many(self, messages: Sequence[tuple[str, bytes | None, bytes, Any]]) -> None:
        self.sent += [key for _, key, _, _ in messages]
        self.arrived.set()


async def test_the_relay_is_woken_once_the_staging_transaction_commits(new_database):
    pool = await create_pool(await new_database("wakeup"))
    await migrate(pool, KIT_MIGRATIONS)
    publisher = RecordingPublisher()
    relay = OutboxRelay(pool, cast(Any, publisher), idle_poll_s=NEVER_S)
    relaying = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.5)  # the relay has looked once, found nothing, and sleeps
        event = sample(ReferralAccepted)
        async with pool.acquire() as conn:
            async with conn.transaction():
                await outbox.add(conn, event)
                await asyncio.sleep(0.3)
            assert publisher.sent == []  # staged, not yet committed and released
        async with asyncio.timeout(10):
            await publisher.arrived.wait()
        assert publisher.sent == [event.key]
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await pool.close()


async def test_a_rolled_back_transaction_publishes_nothing(new_database):
    pool = await create_pool(await new_database("wakeup"))
    await migrate(pool, KIT_MIGRATIONS)
    publisher = RecordingPublisher()
    relay = OutboxRelay(pool, cast(Any, publisher), idle_poll_s=NEVER_S)
    relaying = asyncio.create_task(relay.run())
    try:
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, conn.transaction():
                await outbox.add(conn, sample(ReferralAccepted))
                raise RuntimeError("the handler failed")
        await asyncio.sleep(1.0)
        assert publisher.sent == []
        assert await outbox.backlog(pool) == 0
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await pool.close()
