"""One principal per service on the real broker: each logs in with its own password and may
write and read only the topics GRANTS gives it, in its own consumer groups."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from confluent_kafka import KafkaException

from contracts.topics import ALL_TOPICS, DEAD_LETTER, EVENT_TOPICS, HANDOFFS, PARTICIPATION
from deploy.kafka_security import GRANTS, grant

pytestmark = [pytest.mark.integration, pytest.mark.lawful]


async def _producer(config: dict) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(**config, acks="all", enable_idempotence=True,
                                request_timeout_ms=10_000)  # fmt: skip
    await producer.start()
    return producer


async def _may_write(producer: AIOKafkaProducer, topic: str) -> bool:
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, b"probe", key=b"k"), 20)
    except TopicAuthorizationFailedError:
        return False
    return True


async def _may_read(config: dict, topic: str) -> bool:
    """Fetch the records of partition 0 (there is one) without a group."""
    consumer = AIOKafkaConsumer(**config, enable_auto_commit=False)
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return False  # not even allowed to know it exists
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        async with asyncio.timeout(20):
            while not await consumer.getmany(timeout_ms=1000):
                pass
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()
    return True


async def test_each_principal_writes_and_reads_exactly_what_grants_say(kafka_config, topic_prefix):
    admin = await _producer(kafka_config())
    try:
        for topic in ALL_TOPICS:
            # Key "k" puts every record on one partition; readers look at partition 0 only.
            await admin.send_and_wait(topic_prefix + topic.name, b"seed", key=b"k", partition=0)
    finally:
        await admin.stop()

    for service, granted in GRANTS.items():
        producer = await _producer(kafka_config(service))
        try:
            writes = {
                t.name for t in ALL_TOPICS if await _may_write(producer, topic_prefix + t.name)
            }
        finally:
            await producer.stop()
        reads = {
            t.name
            for t in ALL_TOPICS
            if await _may_read(kafka_config(service), topic_prefix + t.name)
        }
        assert writes == {t.name for t in (*granted.writes, DEAD_LETTER)}, service
        assert reads == {t.name for t in granted.reads}, service


async def test_school_is_refused_another_services_topic_and_group(kafka_config, topic_prefix):
    producer = await _producer(kafka_config("school"))
    try:
        await producer.send_and_wait(topic_prefix + HANDOFFS.name, b"own", key=b"k")
        with pytest.raises(TopicAuthorizationFailedError):
            # Participation is employment's to write.
            await producer.send_and_wait(topic_prefix + PARTICIPATION.name, b"not mine", key=b"k")
    finally:
        await producer.stop()

    async def first_record(group: str) -> bytes:
        consumer = AIOKafkaConsumer(topic_prefix + HANDOFFS.name, **kafka_config("school"),
                                    group_id=group, auto_offset_reset="earliest",
                                    enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 30)
            await consumer.commit()
            return record.value
        finally:
            await consumer.stop()

    assert await first_record(f"samverkan.school.{uuid.uuid4().hex[:6]}") == b"own"
    with pytest.raises(GroupAuthorizationFailedError):
        await first_record(f"samverkan.social.{uuid.uuid4().hex[:6]}")


@pytest.mark.parametrize(
    "topic",
    [topic for topic in EVENT_TOPICS if topic not in GRANTS["audit"].writes],
    ids=lambda topic: topic.name,
)
async def test_audit_cannot_forge_events(kafka_config, topic_prefix, topic):
    producer = await _producer(kafka_config("audit"))
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(topic_prefix + topic.name, b"forged", key=b"k")
    finally:
        await producer.stop()


async def test_a_service_cannot_grant_itself_more(kafka_config, topic_prefix):
    with pytest.raises(KafkaException, match="CLUSTER_AUTHORIZATION_FAILED"):
        await grant(kafka_config("school"), topic_prefix)


@pytest.mark.parametrize(
    "login",
    [
        {"sasl_plain_password": "not-the-password"},
        {"sasl_plain_username": "nobody"},
        {"security_protocol": "PLAINTEXT"},
    ],
    ids=["wrong-password", "unknown-principal", "no-login"],
)
async def test_a_client_without_a_valid_login_is_refused(kafka_config, login):
    producer = AIOKafkaProducer(**{**kafka_config("school"), **login}, request_timeout_ms=5000)
    try:
        with pytest.raises(KafkaConnectionError):
            await producer.start()
    finally:
        await producer.stop()
