"""A batch of handoff events applied through one unit of work (one query for the handoffs,
one statement per table) leaves exactly what applying the events one at a time leaves; the
statements do not grow with the batch; a batch with an event that must be refused falls back
to one at a time; and the handoffs a batch holds are locked until it commits."""

import uuid

import asyncpg
import pytest

from contracts import DisclosureBasis, Event, encode
from contracts.codes import DataCategory, ReferralReason
from contracts.envelope import DisclosureProvision
from contracts.events import (
    ReferralCancelled,
    ReferralEnteredInError,
    ReferralRequested,
)
from services.features import loop
from services.features.handoffs import repository as repo
from services.features.handoffs.service import HandoffDesk
from services.kit.agencies import AgencyRegistry
from services.kit.app import KIT_MIGRATIONS
from services.kit.consumer import Delivery, EventConsumer
from services.kit.database import create_pool, migrate
from services.kit.settings import ServiceSettings
from tests.factories import sample

pytestmark = [pytest.mark.integration, pytest.mark.lifecycle]

SCHOOL, SOCIAL = "ale.school.ale-gymnasium", "ale.social"
CONSUMER = "social.handoffs"
BASIS = DisclosureBasis(provision=DisclosureProvision.OSL_10_2)


class DeadLetters:
    """Stands in for the Kafka publisher: keeps what would go to the dead-letter topic."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def send(self, topic, key, payload, headers) -> None:
        self.sent.append(dict(headers))


def requested(referral_id: uuid.UUID) -> Event:
    return sample(
        ReferralRequested, producer=SCHOOL, receiver=SOCIAL, correlation_id=referral_id,
        subject=uuid.uuid4().hex * 2, legal_basis=BASIS, reason=ReferralReason.ABSENCE,
        data_categories=(DataCategory.ATTENDANCE,),
    )  # fmt: skip


def from_school(event_class: type[Event], opening: Event) -> Event:
    return sample(
        event_class, producer=SCHOOL, correlation_id=opening.correlation_id,
        causation_id=opening.event_id, subject=opening.subject, legal_basis=BASIS,
    )  # fmt: skip


def delivery(offset: int, event: Event) -> Delivery:
    return Delivery("handoffs", 0, offset, event.key, encode(event), {})


def story() -> list[Event]:
    """Openings, changes, a redelivered copy and late events, on three referrals."""
    a, b, c = (requested(uuid.uuid4()) for _ in range(3))
    return [
        a, b,
        from_school(ReferralCancelled, a),
        b,  # redelivered: a known duplicate
        requested(a.correlation_id),  # opened again: ignored
        from_school(ReferralCancelled, a),  # cancelled again, late: ignored
        c,
        from_school(ReferralEnteredInError, b),
    ]  # fmt: skip


async def social_service(new_database, batched: bool) -> tuple[asyncpg.Pool, EventConsumer]:
    pool = await create_pool(await new_database("batches"))
    await migrate(pool, KIT_MIGRATIONS, *loop.migrations())
    registry = AgencyRegistry.load(ServiceSettings.model_fields["agencies_file"].default)
    desk = HandoffDesk(registry, registry.hosted_by("social"), consumer_name=CONSUMER)
    consumer = EventConsumer(
        CONSUMER, pool, desk.receive, DeadLetters(), max_attempts=1, backoff_s=0,
        batch_handler=desk.receive_many if batched else None,
    )  # fmt: skip
    return pool, consumer


async def what_is_stored(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    """Everything the events left, without what is made afresh each time (acknowledgements'
    ids and clocks)."""
    queries = {
        "handoffs": "SELECT referral_id, kind, sender, receiver, subject, state, reason, outcome"
        " FROM handoffs ORDER BY referral_id",
        "timeline": "SELECT referral_id, event_type, producer, state_after, code"
        " FROM handoff_events ORDER BY seq",
        "notifications": "SELECT agency, referral_id, event_type, state FROM notifications"
        " ORDER BY id",
        "outbox": "SELECT key, topic, event_type FROM outbox ORDER BY id",
        "inbox": "SELECT count(*) FROM inbox",
    }
    return {name: [tuple(r) for r in await pool.fetch(sql)] for name, sql in queries.items()}


async def test_a_batch_leaves_what_one_at_a_time_leaves(new_database):
    events = story()
    deliveries = [delivery(offset, event) for offset, event in enumerate(events)]
    one_pool, one_at_a_time = await social_service(new_database, batched=False)
    for each in deliveries:
        await one_at_a_time.consume(each)
    batch_pool, batched = await social_service(new_database, batched=True)

    async def fallen_back(conn, event) -> None:
        raise AssertionError(f"{event.event_type} was not applied in its batch")

    batched.handler = fallen_back  # it would be dead-lettered, and the test fail
    await batched.consume_batch(deliveries)

    expected = await what_is_stored(one_pool)
    assert await what_is_stored(batch_pool) == expected
    # The story did what it says: three referrals received and acknowledged, one cancelled,
    # one entered in error, the duplicate and the late events changing nothing.
    assert [row[5] for row in expected["handoffs"]].count("received") == 1
    assert [row[1] for row in expected["timeline"]] == [
        "ReferralRequested", "ReferralReceived", "ReferralRequested", "ReferralReceived",
        "ReferralCancelled", "ReferralRequested", "ReferralReceived", "ReferralEnteredInError",
    ]  # fmt: skip
    assert [row[2] for row in expected["outbox"]] == ["ReferralReceived"] * 3
    assert one_at_a_time.publisher.sent == batched.publisher.sent == []


async def test_the_statements_of_a_batch_do_not_grow_with_it(new_database):
    pool, consumer = await social_service(new_database, batched=True)
    desk: HandoffDesk = consumer.handler.__self__

    async def statements(count: int) -> int:
        events = [requested(uuid.uuid4()) for _ in range(count)]
        logged: list[object] = []
        async with pool.acquire() as conn, conn.transaction():
            with conn.query_logger(logged.append):
                async with desk.receive_many(conn, events) as receive_one:
                    for event in events:
                        await receive_one(event)
        return len(logged)

    await statements(1)  # the first use of a connection also asks for its array types
    # One query for the handoffs, one statement each for handoffs, timeline, notifications,
    # inbox and outbox, whether the batch holds one event or fifty.
    assert await statements(50) == await statements(1) == 6
    assert await pool.fetchval("SELECT count(*) FROM handoffs WHERE state = 'received'") == 52
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 52


async def test_a_refused_event_fails_its_batch_and_only_itself_is_dead_lettered(new_database):
    pool, consumer = await social_service(new_database, batched=True)
    first, last = requested(uuid.uuid4()), requested(uuid.uuid4())
    never_opened = from_school(ReferralCancelled, requested(uuid.uuid4()))
    events = [first, never_opened, last]

    await consumer.consume_batch([delivery(offset, e) for offset, e in enumerate(events)])

    states = await pool.fetch("SELECT referral_id, state FROM handoffs ORDER BY requested_at")
    assert {r["referral_id"]: r["state"] for r in states} == {
        first.correlation_id: "received",
        last.correlation_id: "received",
    }
    assert [h["dlq.reason"] for h in consumer.publisher.sent] == ["unknown_referral"]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2
    claimed = await pool.fetch("SELECT event_id FROM inbox WHERE consumer = $1", CONSUMER)
    assert never_opened.event_id not in {r["event_id"] for r in claimed}


async def test_the_handoffs_of_a_batch_stay_locked_until_it_commits(new_database):
    pool, consumer = await social_service(new_database, batched=True)
    opening = requested(uuid.uuid4())
    await consumer.consume_batch([delivery(0, opening)])
    async with pool.acquire() as batch, batch.transaction():
        held = await repo.get_many(batch, [opening.correlation_id, uuid.uuid4()])
        assert list(held) == [opening.correlation_id]
        async with pool.acquire() as other, other.transaction():
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.execute(
                    "SELECT 1 FROM handoffs WHERE referral_id = $1 FOR UPDATE NOWAIT",
                    opening.correlation_id,
                )
