"""Throughput of one service process against the raw Kafka client, with the same messages on
the same broker in the same run.

Service path: N referrals addressed to a social-services agency wait on the handoffs topic
before the social service starts; it consumes them, applies each (inbox, handoff, timeline,
notification, the automatic ReferralReceived staged in the outbox) in PostgreSQL, commits its
offsets after that, and its relay publishes the N acknowledgements with acks=all and
idempotence. The rate is N over the time from the first effect's transaction to the last
acknowledgement marked sent, both read from the service's database clock.

Raw path: the same N message bytes produced (acks=all, idempotent, pipelined) to a fresh
topic with as many partitions and consumed back by a consumer group that commits after each
fetched batch, concurrently; N over the time from the first send to the last commit.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.deployment import Deployment, count, provision_topics
from contracts import DisclosureBasis, encode, utc_now
from contracts.catalogue import type_of
from contracts.codes import DataCategory, ReferralReason
from contracts.envelope import DisclosureProvision
from contracts.events import ReferralReceived, ReferralRequested
from contracts.topics import HANDOFFS
from deploy.services import ServiceProcess
from deploy.topics import ensure_topics

SENDER = "ale.school.ale-gymnasium"
RECEIVER = "ale.social"

RECEIVED = type_of(ReferralReceived)


@dataclass(frozen=True)
class Throughput:
    """Events per second of the service path and of the raw client."""

    events: int
    service_per_s: float
    raw_per_s: float
    service_seconds: float
    raw_seconds: float

    @property
    def ratio(self) -> float:
        """The service's rate as a share of the raw client's."""
        return self.service_per_s / self.raw_per_s if self.raw_per_s else 0.0


def referrals(count: int) -> list[tuple[bytes, bytes]]:
    """`count` distinct referrals to social services as (key, value) Kafka records, on
    necessary disclosure so that no consent has to arrive first."""
    now = utc_now()
    records = []
    for _ in range(count):
        event = ReferralRequested(
            event_id=uuid.uuid4(),
            occurred_at=now,
            producer=SENDER,
            correlation_id=uuid.uuid4(),
            subject=uuid.uuid4().hex + uuid.uuid4().hex,
            legal_basis=DisclosureBasis(provision=DisclosureProvision.OSL_10_2),
            receiver=RECEIVER,
            respond_by=now + timedelta(days=14),
            reason=ReferralReason.ABSENCE,
            data_categories=(DataCategory.ATTENDANCE,),
        )
        records.append((event.key, encode(event)))
    return records


async def produce(
    config: dict[str, object], topic: str, records: list[tuple[bytes, bytes]]
) -> None:
    """Send every record durably (acks=all, idempotent), pipelined; wait for all acks."""
    producer = AIOKafkaProducer(**config, acks="all", enable_idempotence=True, linger_ms=2)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def measure(deployment: Deployment, events: int, timeout_s: float = 600.0) -> Throughput:
    """Both paths on `events` messages; the service path first, on a prefix of its own."""
    records = referrals(events)
    service_seconds, process = await _service_path(deployment, records, timeout_s)
    process.stop()
    raw_seconds = await _raw_path(deployment, records)
    return Throughput(
        events, events / service_seconds, events / raw_seconds, service_seconds, raw_seconds
    )


async def _service_path(
    deployment: Deployment, records: list[tuple[bytes, bytes]], timeout_s: float
) -> tuple[float, ServiceProcess]:
    prefix = f"tp{uuid.uuid4().hex[:8]}."
    await provision_topics(deployment.stack, prefix)
    admin = deployment.stack.kafka.client_config()
    await produce(admin, prefix + HANDOFFS.name, records)
    process = await asyncio.to_thread(
        deployment.start_one, "social", prefix, label="social-throughput"
    )
    deployment.services["social (throughput)"] = process
    dsn = process.database_dsn
    deadline = time.monotonic() + timeout_s
    sent_sql = (
        f"SELECT count(*) FROM outbox WHERE event_type = '{RECEIVED}' AND sent_at IS NOT NULL"
    )
    while await count(dsn, sent_sql) < len(records):
        if time.monotonic() > deadline:
            raise TimeoutError("the service did not relay every acknowledgement in time")
        await asyncio.sleep(0.2)
    seconds = await count(
        dsn,
        "SELECT extract(epoch FROM (SELECT max(sent_at) FROM outbox"
        f"  WHERE event_type = '{RECEIVED}')"
        " - (SELECT min(processed_at) FROM inbox WHERE consumer = 'social.handoffs'))",
    )
    return float(seconds), process


async def _raw_path(deployment: Deployment, records: list[tuple[bytes, bytes]]) -> float:
    admin = deployment.stack.kafka.client_config()
    topic = f"raw{uuid.uuid4().hex[:8]}.bench.v1"
    await ensure_topics(admin, [(topic, HANDOFFS.partitions)])
    consumer = AIOKafkaConsumer(
        topic,
        **admin,
        group_id=f"bench.raw.{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        # Joined and assigned before the clock starts, as the service was.
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        started = time.perf_counter()
        producing = asyncio.create_task(produce(admin, topic, records))
        received = 0
        while received < len(records):
            batch = await consumer.getmany(timeout_ms=100, max_records=500)
            received += sum(len(part) for part in batch.values())
            if batch:
                await consumer.commit()
        await producing
        return time.perf_counter() - started
    finally:
        await consumer.stop()
