"""The dead-letter command line on the real broker: it lists dead letters with their reasons,
and replays a chosen one to its source topic with the original key and bytes."""

import asyncio
import subprocess
import sys
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.topics import DEAD_LETTER, HANDOFFS
from deploy.kafka_jars import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def deadletters(stack, prefix, tmp_path, *args):
    password = tmp_path / "admin-password"
    password.write_text(stack.kafka.credentials.password("admin"))
    command = [sys.executable, "-m", "deploy", "deadletters", *args, "--bootstrap",
               stack.kafka.bootstrap, "--password-file", str(password), "--topic-prefix", prefix]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_list_then_replay_to_the_source_topic(stack, topic_prefix, kafka_config, tmp_path):
    source = topic_prefix + HANDOFFS.name
    event_id = str(uuid.uuid4())
    original = b'{"event_id": "%s", "event_type": "ReferralRequested"}' % event_id.encode()
    producer = AIOKafkaProducer(**kafka_config(), acks="all")
    await producer.start()
    try:
        for consumer, reason in [("social.handoffs", "consent_unknown"), ("audit.log", "not_utf8")]:
            headers = {"dlq.reason": reason, "dlq.detail": "why", "dlq.consumer": consumer,
                       "dlq.source_topic": source, "dlq.source_partition": "2",
                       "dlq.source_offset": "41", "dlq.attempts": "5"}  # fmt: skip
            await producer.send_and_wait(
                topic_prefix + DEAD_LETTER.name, original, key=b"rid",
                headers=[(k, v.encode()) for k, v in headers.items()], partition=0,
            )  # fmt: skip
    finally:
        await producer.stop()

    listed = await asyncio.to_thread(deadletters, stack, topic_prefix, tmp_path, "list")
    assert "social.handoffs" in listed and "consent_unknown" in listed
    assert f"{source} 2:41" in listed and event_id in listed
    only = await asyncio.to_thread(
        deadletters, stack, topic_prefix, tmp_path, "list", "--reason", "not_utf8", "--json"
    )
    assert len(only.splitlines()) == 1 and "audit.log" in only

    # Both consumers gave up on the same message: it is published once.
    replayed = await asyncio.to_thread(
        deadletters, stack, topic_prefix, tmp_path, "replay", "--event-id", event_id
    )
    assert replayed.count("replayed") == 1
    consumer = AIOKafkaConsumer(**kafka_config(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(source, p) for p in range(HANDOFFS.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        batches = await consumer.getmany(timeout_ms=5000)
        records = [r for rs in batches.values() for r in rs]
    finally:
        await consumer.stop()
    assert [(r.key, r.value) for r in records] == [(b"rid", original)]
    assert dict(records[0].headers)["dlq.replayed_from"] == b"0:0"
