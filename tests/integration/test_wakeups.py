"""What one transaction writes for others of the process to read wakes them as soon as it
has ended, not at their next poll: the relay publishes a staged event (never before the
commit), and a live stream shows a stored notification."""

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import asyncpg
import pytest

from contracts import DisclosureBasis
from contracts.codes import DataCategory, ReferralReason
from contracts.envelope import DisclosureProvision
from contracts.events import ReferralAccepted, ReferralRequested
from services.features import loop
from services.features.handoffs import notifications
from services.features.handoffs.notifications import NotificationHub
from services.features.handoffs.service import HandoffDesk
from services.kit import outbox
from services.kit.agencies import AgencyRegistry
from services.kit.app import KIT_MIGRATIONS
from services.kit.database import create_pool, migrate
from services.kit.outbox import OutboxRelay
from services.kit.settings import ServiceSettings
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


@pytest.fixture
async def relaying(new_database) -> AsyncIterator[tuple[asyncpg.Pool, RecordingPublisher]]:
    """A relay running on a fresh database that would poll only every ten minutes; its pool
    and what it published."""
    pool = await create_pool(await new_database("wakeup"))
    await migrate(pool, KIT_MIGRATIONS)
    publisher = RecordingPublisher()
    relay = asyncio.create_task(OutboxRelay(pool, cast(Any, publisher), idle_poll_s=NEVER_S).run())
    await asyncio.sleep(0.5)  # the relay has looked once, found nothing, and sleeps
    yield pool, publisher
    relay.cancel()
    await asyncio.gather(relay, return_exceptions=True)
    await pool.close()


async def test_the_relay_is_woken_once_the_staging_transaction_commits(relaying):
    pool, publisher = relaying
    event = sample(ReferralAccepted)
    async with pool.acquire() as conn:
        async with conn.transaction():
            await outbox.add(conn, event)
            await asyncio.sleep(0.3)
        assert publisher.sent == []  # staged, not yet committed and released
    async with asyncio.timeout(10):
        await publisher.arrived.wait()
    assert publisher.sent == [event.key]


async def test_a_rolled_back_transaction_publishes_nothing(relaying):
    pool, publisher = relaying
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, sample(ReferralAccepted))
            raise RuntimeError("the handler failed")
    await asyncio.sleep(1.0)
    assert publisher.sent == []
    assert await outbox.backlog(pool) == 0


async def test_a_live_stream_shows_a_received_referral_once_it_commits(new_database, monkeypatch):
    monkeypatch.setattr(notifications, "HEARTBEAT_S", NEVER_S)
    pool = await create_pool(await new_database("wakeup"))
    await migrate(pool, KIT_MIGRATIONS, *loop.migrations())
    registry = AgencyRegistry.load(ServiceSettings.model_fields["agencies_file"].default)
    desk = HandoffDesk(registry, registry.hosted_by("social"), consumer_name="social.handoffs")

    async def delivered(conn, rows) -> None:
        """The read log is not under test here."""

    stream = NotificationHub(pool).stream("ale.social", None, None, delivered)
    try:
        assert (await anext(stream))["event"] == "ready"
        shown = asyncio.create_task(anext(stream))
        await asyncio.sleep(0.3)
        assert not shown.done()
        referral = sample(
            ReferralRequested, producer="ale.school.ale-gymnasium", receiver="ale.social",
            legal_basis=DisclosureBasis(provision=DisclosureProvision.OSL_10_2),
            reason=ReferralReason.ABSENCE, data_categories=(DataCategory.ATTENDANCE,),
        )  # fmt: skip
        async with pool.acquire() as conn, conn.transaction():
            await desk.receive(conn, referral)
        async with asyncio.timeout(10):
            note = await shown
        assert note["event"] == "handoff"
        assert json.loads(note["data"])["referral_id"] == str(referral.correlation_id)
    finally:
        await stream.aclose()
        await pool.close()
