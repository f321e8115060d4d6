"""FastStream Kafka broker and subscribers, wired to the durable consumer."""

from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage, Topic
from faststream.message import StreamMessage
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from services.kit.consumer import Delivery, EventConsumer
from services.kit.settings import KafkaSettings


def make_broker(
    kafka: KafkaSettings, client_id: str, graceful_timeout: float = 15.0
) -> KafkaBroker:
    """A broker, logged in as this service, whose publishers wait for all in-sync replicas
    and never duplicate."""
    return KafkaBroker(
        kafka.bootstrap,
        security=_login(kafka),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        graceful_timeout=graceful_timeout,
    )


def _login(kafka: KafkaSettings) -> BaseSecurity | None:
    if kafka.security_protocol == "PLAINTEXT" or kafka.password is None or kafka.username is None:
        return None
    scram = SASLScram256 if kafka.sasl_mechanism == "SCRAM-SHA-256" else SASLScram512
    return scram(kafka.username, kafka.password.get_secret_value())


def _deliveries(message: KafkaMessage) -> list[Delivery]:
    raw = message.raw_message
    return [
        Delivery(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value or b"",
            headers={k: v.decode(errors="replace") for k, v in (record.headers or ())},
        )
        for record in (raw if isinstance(raw, tuple) else (raw,))
    ]


async def _not_decoded(_: StreamMessage[Any]) -> None:
    """Leaves message bodies to the consumer, which decodes them into events: FastStream's
    own JSON decoding of every body would be thrown away."""


def subscribe(
    broker: KafkaBroker,
    topics: list[str],
    group_id: str,
    consumer: EventConsumer,
    session_timeout_ms: int = 10_000,
    batch_max: int = 100,
    batch_wait_ms: int = 10,
    fetch_min_bytes: int = 1,
    fetch_max_wait_ms: int = 500,
) -> None:
    """Feed `topics` to `consumer` in consumer group `group_id`, in batches of what has
    arrived (at most `batch_max`), committing the offsets after each batch's effects.

    An idle subscriber polls every `batch_wait_ms` (FastStream sleeps that long after an empty
    poll), which bounds the delay it adds to a message that arrives while it is idle. The
    broker holds a fetch until `fetch_min_bytes` have arrived or `fetch_max_wait_ms` passed.
    """
    subscriber = broker.subscriber(
        # Declared by the deployment, which alone may create topics: no create call per start.
        *(Topic(name, declare=False) for name in topics),
        group_id=group_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=session_timeout_ms // 4,
        batch=True,
        max_records=batch_max,
        batch_timeout_ms=batch_wait_ms,
        fetch_min_bytes=fetch_min_bytes,
        fetch_max_wait_ms=fetch_max_wait_ms,
        decoder=_not_decoded,
    )

    @subscriber
    async def on_batch(message: KafkaMessage) -> None:
        await consumer.consume_batch(_deliveries(message))
