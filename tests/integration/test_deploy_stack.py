"""The local stack starts a real Kafka broker and a real PostgreSQL server."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import UnknownTopicOrPartitionError

from deploy import Stack, ensure_topics

pytestmark = pytest.mark.integration

DATABASES = ("deploy_alpha", "deploy_beta")
TOPIC = "deploy.selftest"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own, not the session's: these tests kill its servers."""
    with Stack(
        tmp_path_factory.mktemp("stack"), databases=DATABASES, topics=[(TOPIC, 3)]
    ) as running:
        yield running


async def _produce(client: dict, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(**client, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _consume_values(client: dict, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        **client,
        group_id=f"deploy-test-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        while len(values) < count:
            message = await asyncio.wait_for(consumer.getone(), timeout=30)
            values.append(message.value)
        await consumer.commit()
        return values
    finally:
        await consumer.stop()


def test_stack_json_describes_the_running_stack(stack: Stack) -> None:
    info = json.loads(stack.info_file.read_text())
    assert info["kafka_bootstrap"] == stack.kafka.bootstrap
    assert info["kafka_login"]["passwords"] == dict(stack.kafka.credentials.passwords)
    assert stack.info_file.stat().st_mode & 0o077 == 0, "passwords: readable by the owner only"
    assert info["postgres"] == {
        "host": "127.0.0.1",
        "port": stack.postgres.port,
        "user": "postgres",
    }
    assert info["databases"] == {name: stack.postgres.dsn(name) for name in DATABASES}
    assert all(Path(path).exists() for path in info["logs"].values())


async def test_each_database_is_separate_and_writable(stack: Stack) -> None:
    alpha = await asyncpg.connect(stack.postgres.dsn("deploy_alpha"))
    beta = await asyncpg.connect(stack.postgres.dsn("deploy_beta"))
    try:
        await alpha.execute("CREATE TABLE notes (body text NOT NULL)")
        await alpha.execute("INSERT INTO notes VALUES ('hej')")
        assert await alpha.fetchval("SELECT body FROM notes") == "hej"
        assert await beta.fetchval("SELECT to_regclass('notes')") is None
    finally:
        await alpha.close()
        await beta.close()


def test_create_database_is_idempotent(stack: Stack) -> None:
    stack.postgres.create_database("deploy_alpha")
    stack.postgres.create_database("deploy_gamma")
    stack.postgres.create_database("deploy_gamma")
    stack.postgres.drop_database("deploy_gamma")
    stack.postgres.drop_database("deploy_gamma")


async def test_topic_exists_with_its_partitions_and_ensure_is_idempotent(stack: Stack) -> None:
    await ensure_topics(stack.kafka.client_config(), [(TOPIC, 3)])
    admin = AIOKafkaAdminClient(**stack.kafka.client_config())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([TOPIC])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 3


async def test_auto_topic_creation_is_off(stack: Stack) -> None:
    producer = AIOKafkaProducer(**stack.kafka.client_config(), request_timeout_ms=1500)
    await producer.start()
    try:
        with pytest.raises(UnknownTopicOrPartitionError):
            await asyncio.wait_for(producer.send_and_wait("deploy.no-such-topic", b"x"), 10)
    finally:
        await producer.stop()


async def test_produce_and_consume_with_acks_all(stack: Stack) -> None:
    await _produce(stack.kafka.client_config(), TOPIC, b"referral-1", b"first")
    assert await _consume_values(stack.kafka.client_config(), TOPIC, 1) == [b"first"]


def test_committed_rows_survive_a_postgres_crash(stack: Stack) -> None:
    async def write() -> None:
        conn = await asyncpg.connect(stack.postgres.dsn("deploy_beta"))
        try:
            await conn.execute("CREATE TABLE durable (id int PRIMARY KEY)")
            await conn.execute("INSERT INTO durable VALUES (1)")
        finally:
            await conn.close()

    async def read() -> int:
        conn = await asyncpg.connect(stack.postgres.dsn("deploy_beta"))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM durable"))
        finally:
            await conn.close()

    port = stack.postgres.port
    asyncio.run(write())
    stack.postgres.restart(hard=True)
    assert stack.postgres.port == port
    assert asyncio.run(read()) == 1


@pytest.mark.parametrize("hard", [False, True], ids=["stop", "kill"])
def test_kafka_restart_keeps_address_topic_and_messages(stack: Stack, hard: bool) -> None:
    bootstrap, client = stack.kafka.bootstrap, stack.kafka.client_config()
    asyncio.run(_produce(client, TOPIC, b"referral-2", f"before-{hard}".encode()))
    stack.kafka.restart(hard=hard)
    assert stack.kafka.bootstrap == bootstrap
    # The same login works after the restart: the passwords are kept with the data.
    everything = asyncio.run(_read_all(client, TOPIC, 3))
    assert f"before-{hard}".encode() in everything
    assert b"first" in everything


async def _read_all(client: dict, topic: str, partitions: int) -> list[bytes]:
    """Every message in ``topic``, read without a group up to the end offsets."""
    consumer = AIOKafkaConsumer(**client, auto_offset_reset="earliest")
    await consumer.start()
    try:
        assert topic in await consumer.topics(), f"{topic} is gone after the restart"
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        end = await consumer.end_offsets(assigned)
        values: list[bytes] = []
        while [tp for tp in assigned if await consumer.position(tp) < end[tp]]:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 30)
            values.extend(m.value for records in batch.values() for m in records)
        return values
    finally:
        await consumer.stop()
