"""Handles one Kafka message: decode, claim in the inbox and apply the effect in one
transaction, retry a bounded number of times, then dead-letter with the reason.

The offset is committed by FastStream (AckPolicy.NACK_ON_ERROR) only after this returns,
i.e. after the database transaction has committed or the message is safely dead-lettered.
If even the dead-letter topic cannot be written, the exception propagates and the message is
redelivered rather than lost.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import asyncpg
from opentelemetry import trace

from contracts import DEAD_LETTER, DecodeError, Event, decode
from services.kit import inbox, metrics
from services.kit.database import Connection
from services.kit.failpoints import crash_point
from services.kit.publisher import Publisher
from services.kit.telemetry import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer("samverkan.consumer")

Handler = Callable[[Connection, Event], Awaitable[None]]


class Refused(Exception):
    """An event that is well-formed but must not be acted on (unlawful, impossible)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Delivery:
    """What the consumer needs of a Kafka message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]


# The Kafka record of the event being handled, for handlers that keep its provenance (the
# audit log stores the exact bytes with topic, partition and offset).
current_delivery: ContextVar[Delivery] = ContextVar("current_delivery")


@dataclass
class EventConsumer:
    """Applies `handler` to each event exactly once in effect, or dead-letters it."""

    name: str
    pool: asyncpg.Pool
    handler: Handler
    publisher: Publisher
    dead_letter_topic: str = DEAD_LETTER.name
    max_attempts: int = 5
    backoff_s: float = 0.2

    async def consume(self, delivery: Delivery) -> None:
        """Process one delivery; return only when it is handled or dead-lettered."""
        try:
            event = decode(delivery.value)
        except DecodeError as exc:
            await self._dead_letter(delivery, exc.problem.value, str(exc), attempts=0)
            return
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self._apply(event, delivery)
                return
            except Refused as exc:
                await self._dead_letter(delivery, exc.reason, exc.detail, attempts=attempt)
                return
            except Exception as exc:
                metrics.EVENTS_FAILED.labels(self.name, event.event_type).inc()
                if attempt == self.max_attempts:
                    await self._dead_letter(delivery, "handler_failed", repr(exc)[:500], attempt)
                    return
                log.warning(
                    "%s: attempt %d failed for %s: %r", self.name, attempt, event.event_id, exc
                )
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))

    async def _apply(self, event: Event, delivery: Delivery) -> None:
        with tracer.start_as_current_span(
            f"handle {event.event_type}",
            context=extract_context(delivery.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={"samverkan.consumer": self.name, "samverkan.event_type": event.event_type},
        ):
            token = current_delivery.set(delivery)
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    applied = await inbox.claim(conn, self.name, event.event_id)
                    if applied:
                        await self.handler(conn, event)
            finally:
                current_delivery.reset(token)
            if applied:
                metrics.handled(self.name, event)
            crash_point("consumer_after_commit")

    async def _dead_letter(
        self, delivery: Delivery, reason: str, detail: str, attempts: int
    ) -> None:
        metrics.EVENTS_DEAD_LETTERED.labels(self.name, reason).inc()
        log.warning(
            "%s: dead-lettering %s:%d@%d: %s",
            self.name,
            delivery.topic,
            delivery.partition,
            delivery.offset,
            detail,
        )
        headers = {
            "dlq.reason": reason,
            "dlq.detail": detail[:1000],
            "dlq.consumer": self.name,
            "dlq.source_topic": delivery.topic,
            "dlq.source_partition": str(delivery.partition),
            "dlq.source_offset": str(delivery.offset),
            "dlq.attempts": str(attempts),
        }
        await self.publisher.send(self.dead_letter_topic, delivery.key, delivery.value, headers)
