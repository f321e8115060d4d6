"""The one durable Kafka producer of a service process (acks=all, idempotent)."""

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.kit.settings import KafkaSettings

log = logging.getLogger(__name__)
Record = tuple[str, bytes | None, bytes, Mapping[str, str]]


class Publisher:
    """Sends records and waits until the broker has them on every in-sync replica.

    aiokafka is used directly here (rather than through the FastStream broker) so that a batch
    can be pipelined: all sends are queued first, then awaited together.
    """

    def __init__(self, kafka: KafkaSettings, client_id: str) -> None:
        self._options: dict[str, Any] = {
            **kafka.client_options(),
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 2,
            # Room for a whole relay batch in one record batch per partition: with the 16 KiB
            # default (a dozen events), each further dozen waited for the one before it to
            # be sent, one request to the broker at a time.
            "max_batch_size": 256 * 1024,
        }
        self._producer = AIOKafkaProducer(**self._options)
        self._renewing = asyncio.Lock()

    async def start(self) -> None:
        """Connect to the broker."""
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self._producer.stop()

    async def send_many(self, records: Sequence[Record]) -> None:
        """Send every record; return once all are acknowledged, raise if any failed."""
        producer = self._producer
        try:
            futures = [
                await producer.send(
                    topic,
                    value=payload,
                    key=key,
                    headers=[(k, v.encode()) for k, v in headers.items()],
                )
                for topic, key, payload, headers in records
            ]
            # Every outcome is collected, so that no failure goes unretrieved.
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
        except KafkaError:
            await self._renew(producer)
            raise
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            await self._renew(producer)
            raise failed

    async def send(
        self, topic: str, key: bytes | None, payload: bytes, headers: Mapping[str, str]
    ) -> None:
        """Send one record and wait for its acknowledgement."""
        await self.send_many([(topic, key, payload, headers)])

    async def _renew(self, failed: AIOKafkaProducer) -> None:
        """Replace a producer whose send failed: after the broker restarts, an idempotent
        producer's sequence numbers can be out of step with it for good
        (OutOfOrderSequenceNumber on every send). The caller retries on the new one. If
        the broker is still down, the old producer stays, and the next failure tries again."""
        async with self._renewing:
            if self._producer is not failed:
                return  # renewed meanwhile
            fresh = AIOKafkaProducer(**self._options)
            try:
                await fresh.start()
            except KafkaError:
                log.warning("could not start a new Kafka producer yet", exc_info=True)
                return
            self._producer = fresh
        log.warning("a Kafka send failed; the producer was replaced")
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5.0):
                await failed.stop()
