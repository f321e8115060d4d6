"""Runs last: after the whole suite, no personnummer is on any topic, in any log line or in
any span (the services export spans to their logs in these tests)."""

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.stack import Stack
from tests.privacy import personnummer_in

pytestmark = [pytest.mark.e2e, pytest.mark.lawful]


async def every_message(client: dict) -> list[str]:
    """The keys, values and headers of every message on every topic (read as the admin)."""
    consumer = AIOKafkaConsumer(**client, enable_auto_commit=False)
    await consumer.start()
    texts: list[str] = []
    try:
        topics = await consumer.topics()
        # topics() does not fill the cluster view that partitions_for_topic() reads.
        await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(120):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                    for r in records:
                        texts.append((r.key or b"").decode(errors="replace"))
                        texts.append((r.value or b"").decode(errors="replace"))
                        texts += [v.decode(errors="replace") for _, v in r.headers]
    finally:
        await consumer.stop()
    return texts


def every_log_line(stack: Stack, base: Path) -> list[str]:
    """Every line the services (with their spans), the broker and the database logged."""
    files = [*base.glob("services*/logs/*.log"), stack.kafka.log_file, stack.kafka.console_file,
             stack.postgres.log_file]  # fmt: skip
    return [
        line for f in files if f.exists() for line in f.read_text(errors="replace").splitlines()
    ]


async def test_no_personnummer_anywhere_on_the_bus_in_logs_or_spans(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
):
    base = tmp_path_factory.getbasetemp()
    messages = await every_message(stack.kafka.client_config())
    lines = every_log_line(stack, base)
    assert len(messages) > 100 and len(lines) > 100, "the suite ran before this scan"
    assert personnummer_in(messages) == []
    assert personnummer_in(lines) == []
