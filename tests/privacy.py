"""Finds personnummer and samordningsnummer in what left the agencies: every message on the
bus, every log line of the services (with their spans), the broker and the database."""

import asyncio
import re
from collections.abc import Iterable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.stack import Stack
from services.kit.identity import InvalidPersonnummer, parse_personnummer

# 10 or 12 digits, optionally with - or + before the last four, standing alone.
_CANDIDATE = re.compile(r"(?<![\w-])(\d{6}|\d{8})([-+]?)(\d{4})(?!\w)")


def personnummer_in(texts: Iterable[str]) -> list[str]:
    """Every valid (real date, correct check digit) number found in `texts`."""
    found = []
    for text in texts:
        for match in _CANDIDATE.finditer(text):
            try:
                parse_personnummer(match.group(0))
            except InvalidPersonnummer:
                continue
            found.append(match.group(0))
    return found


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
    """Every line the services under `base` (with their spans), the broker and the database
    logged."""
    files = [*base.glob("**/logs/*.log"), stack.kafka.log_file, stack.kafka.console_file,
             stack.postgres.log_file]  # fmt: skip
    return [
        line for f in files if f.exists() for line in f.read_text(errors="replace").splitlines()
    ]
