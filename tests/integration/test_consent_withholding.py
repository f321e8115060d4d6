"""Events already staged in the outbox are withheld, not sent, once their consent lapses."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaConsumer

from contracts import ConsentBasis, utc_now
from contracts.events import ReferralAccepted, ReferralCancelled
from contracts.topics import HANDOFFS
from services.features import loop
from services.features.consent import repository as consents
from services.features.consent.domain import Consent
from services.kit import outbox
from services.kit.app import KIT_MIGRATIONS
from services.kit.database import create_pool, migrate
from services.kit.outbox import OutboxRelay
from services.kit.publisher import Publisher
from tests.factories import SUBJECT, sample

pytestmark = [pytest.mark.integration, pytest.mark.lawful]


def consent() -> Consent:
    now = utc_now()
    return Consent(uuid.uuid4(), SUBJECT, "ale.school.ale-gymnasium", "subject", "written",
                   ("ale.social",), ("attendance",), now - timedelta(days=1),
                   now + timedelta(days=30), now)  # fmt: skip


async def published(client, topic, count):
    consumer = AIOKafkaConsumer(topic, **client, auto_offset_reset="earliest",
                                group_id=f"check-{uuid.uuid4().hex[:6]}")  # fmt: skip
    await consumer.start()
    found = []
    try:
        async with asyncio.timeout(20):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    found += [dict(r.headers)["event_type"].decode() for r in records]
            extra = await consumer.getmany(timeout_ms=1000)
            found += [dict(r.headers)["event_type"].decode() for rs in extra.values() for r in rs]
    finally:
        await consumer.stop()
    return found


async def test_staged_events_under_a_withdrawn_consent_are_not_sent(
    kafka_settings, kafka_config, topic_prefix, new_database
):
    pool = await create_pool(await new_database("withhold"))
    await migrate(pool, KIT_MIGRATIONS, *loop.migrations())
    withdrawn, valid = consent(), consent()
    async with pool.acquire() as conn, conn.transaction():
        for given in (withdrawn, valid):
            await consents.save(conn, given)
        staged = [
            sample(ReferralAccepted, legal_basis=ConsentBasis(consent_id=withdrawn.consent_id)),
            sample(ReferralCancelled, legal_basis=ConsentBasis(consent_id=withdrawn.consent_id)),
            sample(ReferralAccepted, legal_basis=ConsentBasis(consent_id=valid.consent_id)),
        ]
        for event in staged:
            await outbox.add(conn, event, topic_prefix)
        await consents.withdraw(conn, withdrawn.consent_id, utc_now())

    publisher = Publisher(kafka_settings("school"), "school")
    await publisher.start()
    relay = OutboxRelay(pool, publisher)
    relay.guards.append(consents.withhold_lapsed)
    async with pool.acquire() as conn:
        assert await relay.relay_once(conn) == 2
        assert await relay.relay_once(conn) == 0
    await publisher.stop()

    sent = await published(kafka_config(), topic_prefix + HANDOFFS.name, 2)
    assert sorted(sent) == ["ReferralAccepted", "ReferralCancelled"]
    withheld = await pool.fetch(
        "SELECT event_id, withheld_reason FROM outbox WHERE withheld_at IS NOT NULL"
    )
    assert [(r["event_id"], r["withheld_reason"]) for r in withheld] == [
        (staged[0].event_id, "consent_withdrawn")
    ]
    assert await outbox.backlog(pool) == 0
    await pool.close()
