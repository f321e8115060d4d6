"""The one durable Kafka producer of a service process (acks=all, idempotent)."""

from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaProducer

from services.kit.settings import KafkaSettings

Record = tuple[str, bytes, bytes, Mapping[str, str]]


class Publisher:
    """Sends records and waits until the broker has them on every in-sync replica.

    aiokafka is used directly here (rather than through the FastStream broker) so that a batch
    can be pipelined: all sends are queued first, then awaited together.
    """

    def __init__(self, kafka: KafkaSettings, client_id: str) -> None:
        self._producer = AIOKafkaProducer(
            **kafka.client_options(),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
        )

    async def start(self) -> None:
        """Connect to the broker."""
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self._producer.stop()

    async def send_many(self, records: Sequence[Record]) -> None:
        """Send every record; return once all are acknowledged, raise if any failed."""
        futures = [
            await self._producer.send(
                topic, value=payload, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
            )
            for topic, key, payload, headers in records
        ]
        for future in futures:
            await future

    async def send(
        self, topic: str, key: bytes | None, payload: bytes, headers: Mapping[str, str]
    ) -> None:
        """Send one record and wait for its acknowledgement."""
        await self._producer.send_and_wait(
            topic, value=payload, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )
