"""The delivery guarantees everything else stands on, on the real broker and database:
durable FastStream publishing, a consumer group that commits only after the effect, resumption
after a restart, an idempotent inbox, and dead-lettering that lets the consumer go on."""

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from contracts import DEAD_LETTER, Event, encode
from contracts.events import ReferralRequested
from contracts.topics import HANDOFFS
from services.kit.app import KIT_MIGRATIONS
from services.kit.broker import make_broker, subscribe
from services.kit.consumer import EventConsumer
from services.kit.database import Connection, create_pool, migrate
from services.kit.publisher import Publisher
from tests.factories import sample

pytestmark = [pytest.mark.integration, pytest.mark.contracts]


async def _pool(new_database) -> asyncpg.Pool:
    pool = await create_pool(await new_database("delivery"))
    await migrate(pool, KIT_MIGRATIONS)
    await pool.execute("CREATE TABLE effects (event_id uuid, handled_by text)")
    return pool


async def _wait_for(predicate, timeout=30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


class Recorder:
    """A handler that records its effect; it can be told to hang on one event (a crash)."""

    def __init__(self, name: str, hang_on: uuid.UUID | None = None) -> None:
        self.name, self.hang_on = name, hang_on
        self.hanging = asyncio.Event()

    async def __call__(self, conn: Connection, event: Event) -> None:
        if event.event_id == self.hang_on:
            self.hanging.set()
            await asyncio.Event().wait()
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", event.event_id, self.name)


async def _start_consumer(kafka, pool, topic, dlq, handler, publisher, group):
    broker = make_broker(kafka, client_id=group, graceful_timeout=1.0)
    consumer = EventConsumer("test.consumer", pool, handler, publisher, dlq, max_attempts=2,
                             backoff_s=0.01)  # fmt: skip
    subscribe(broker, [topic], group, consumer)
    await broker.start()
    return broker


async def test_group_commits_after_effect_and_resumes_after_restart(
    kafka_settings, topic_prefix, new_database
):
    # As the school service would: its own principal, its own group prefix.
    kafka = kafka_settings("school")
    pool = await _pool(new_database)
    topic, dlq = topic_prefix + HANDOFFS.name, topic_prefix + DEAD_LETTER.name
    publisher = Publisher(kafka, "test")
    await publisher.start()
    # One key, so all three land on one partition in order.
    key = uuid.uuid4()
    events = [sample(ReferralRequested, correlation_id=key) for _ in range(3)]

    producer = make_broker(kafka, client_id="school")
    assert producer._connection_kwargs["acks"] == "all"
    assert producer._connection_kwargs["enable_idempotence"] is True
    await producer.start()

    async def effects(count):
        return await pool.fetchval("SELECT count(*) FROM effects") == count

    first = Recorder("first", hang_on=events[1].event_id)
    group = f"samverkan.school.g{uuid.uuid4().hex[:6]}"
    broker = await _start_consumer(kafka, pool, topic, dlq, first, publisher, group)
    # The first event on its own, so that its batch commits before the others arrive.
    await producer.publish(encode(events[0]), topic, key=events[0].key)
    await _wait_for(lambda: effects(1))
    for event in events[1:]:
        await producer.publish(encode(event), topic, key=event.key)
    await producer.stop()
    await asyncio.wait_for(first.hanging.wait(), 30)
    await broker.stop()  # the process "dies" while handling the second event

    second = Recorder("second")
    broker = await _start_consumer(kafka, pool, topic, dlq, second, publisher, group)

    await _wait_for(lambda: effects(3))
    await broker.stop()
    rows = await pool.fetch("SELECT event_id, handled_by FROM effects")
    handled = {r["event_id"]: r["handled_by"] for r in rows}
    assert len(rows) == 3, "no event handled twice"
    assert handled == {
        events[0].event_id: "first",  # committed before the crash: not redelivered
        events[1].event_id: "second",  # in flight at the crash: redelivered
        events[2].event_id: "second",
    }
    await publisher.stop()
    await pool.close()


async def _dead_letters(client, dlq, count):
    consumer = AIOKafkaConsumer(dlq, **client, auto_offset_reset="earliest",
                                group_id=f"dlq{uuid.uuid4().hex[:6]}")  # fmt: skip
    await consumer.start()
    found = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    found += [
                        (r.value, dict((k, v.decode()) for k, v in r.headers)) for r in records
                    ]
    finally:
        await consumer.stop()
    return found


class Flaky(Recorder):
    """Fails every time on one event; records the others."""

    def __init__(self, fails_on: uuid.UUID) -> None:
        super().__init__("flaky")
        self.fails_on = fails_on
        self.attempts = 0

    async def __call__(self, conn: Connection, event: Event) -> None:
        if event.event_id == self.fails_on:
            self.attempts += 1
            await conn.execute("INSERT INTO effects VALUES ($1, 'partial')", event.event_id)
            raise RuntimeError("downstream unavailable")
        await super().__call__(conn, event)


async def test_bad_and_failing_messages_are_dead_lettered_and_the_consumer_goes_on(
    kafka_settings, kafka_config, topic_prefix, new_database
):
    kafka = kafka_settings("school")
    pool = await _pool(new_database)
    topic, dlq = topic_prefix + HANDOFFS.name, topic_prefix + DEAD_LETTER.name
    publisher = Publisher(kafka, "test")
    await publisher.start()
    key = str(uuid.uuid4()).encode()
    failing, good = sample(ReferralRequested), sample(ReferralRequested)
    invalid = encode(good).replace(b'"reason":"absence"', b'"reason":"bored"')
    handler = Flaky(failing.event_id)
    for payload in [b"\x00garbage", invalid, encode(failing), encode(good), encode(good)]:
        await publisher.send(topic, key, payload, {})
    broker = await _start_consumer(kafka, pool, topic, dlq, handler, publisher,
                                   "samverkan.school.g-dlq")  # fmt: skip

    async def good_handled():
        return await pool.fetchval("SELECT count(*) FROM effects") >= 1

    await _wait_for(good_handled)
    # No service reads dead letters; an operator (the admin) does.
    letters = await _dead_letters(kafka_config(), dlq, 3)
    await broker.stop()
    reasons = [(h["dlq.reason"], h.get("dlq.attempts")) for _, h in letters]
    assert reasons == [("not_json", "0"), ("invalid_field", "0"), ("handler_failed", "2")]
    assert "reason" in letters[1][1]["dlq.detail"]
    assert letters[2][0] == encode(failing), "the original bytes are kept"
    assert handler.attempts == 2, "retried up to the bound"
    effects = await pool.fetch("SELECT event_id, handled_by FROM effects")
    # The failing attempts rolled back; the duplicate delivery of `good` had no second effect.
    assert [(r["event_id"], r["handled_by"]) for r in effects] == [(good.event_id, "flaky")]
    await publisher.stop()
    await pool.close()
