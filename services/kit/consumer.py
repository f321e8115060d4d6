"""Handles Kafka messages: decode, claim in the inbox and apply the effect in one
transaction, retry a bounded number of times, then dead-letter with the reason. A batch of
messages shares one transaction, so that a busy consumer pays one commit per batch.

The offsets are committed by FastStream (AckPolicy.NACK_ON_ERROR) only after this returns,
i.e. after the database transaction has committed or the message is safely dead-lettered.
If even the dead-letter topic cannot be written, the exception propagates and the message is
redelivered rather than lost.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import asyncpg
from opentelemetry import trace

from contracts import DEAD_LETTER, DecodeError, Event, decode
from services.kit import inbox, metrics
from services.kit.database import UNAVAILABLE, Connection
from services.kit.failpoints import crash_point
from services.kit.publisher import Publisher
from services.kit.refusals import NotYet, Refused
from services.kit.telemetry import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer("samverkan.consumer")

Handler = Callable[[Connection, Event], Awaitable[None]]


MAX_BACKOFF_S = 5.0


@dataclass(frozen=True)
class Delivery:
    """What the consumer needs of a Kafka message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]


#: Applies a batch at once: given the batch's events (to load what they need in one query),
#: it opens a context that yields the function applying one of them; what is left to write
#: for the whole batch is written when the context closes. The consumer calls that function
#: for each event inside `handling`, so that handlers never deal with Kafka records or spans.
BatchHandler = Callable[
    [Connection, Sequence[Event]], AbstractAsyncContextManager[Callable[[Event], Awaitable[None]]]
]

# The Kafka record of the event being handled, for handlers that keep its provenance (the
# audit log stores the exact bytes with topic, partition and offset).
current_delivery: ContextVar[Delivery] = ContextVar("current_delivery")


@contextmanager
def handling(consumer: str, event: Event, delivery: Delivery) -> Iterator[None]:
    """Where `consumer` handles `event`: in a consumer span that continues the trace of its
    delivery (so that what it stages carries that trace on), with `delivery` current. A batch
    handler enters it for each event of the batch."""
    with tracer.start_as_current_span(
        f"handle {event.event_type}",
        context=extract_context(delivery.headers),
        kind=trace.SpanKind.CONSUMER,
        attributes={"samverkan.consumer": consumer, "samverkan.event_type": event.event_type},
    ):
        token = current_delivery.set(delivery)
        try:
            yield
        finally:
            current_delivery.reset(token)


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
    max_event_bytes: int = 65_536
    # Off only in chaos control runs (ServiceSettings.unsafe_skip_inbox_check_for_control_run):
    # redelivered events are then applied again, which shows what the inbox prevents.
    check_inbox: bool = True
    not_yet_patience_s: float = 60.0
    # Applies a whole batch of claimed events at once (e.g. one audit append per batch);
    # if it fails, each event of the batch is applied on its own by `handler`.
    batch_handler: BatchHandler | None = None

    def __post_init__(self) -> None:
        if not self.check_inbox:
            log.critical(
                "%s: THE INBOX CHECK IS OFF: redelivered events are applied again."
                " This is a chaos control run, never a deployment.",
                self.name,
            )

    async def consume(self, delivery: Delivery) -> None:
        """Process one delivery; return only when it is handled or dead-lettered."""
        if len(delivery.value) > self.max_event_bytes:
            # Not even parsed: no event is this large, and parsing it would cost the consumer.
            await self._dead_letter(
                delivery,
                "oversized",
                f"{len(delivery.value)} bytes; at most {self.max_event_bytes} are read",
                attempts=0,
            )
            return
        try:
            event = decode(delivery.value)
        except DecodeError as exc:
            await self._dead_letter(delivery, exc.problem.value, str(exc), attempts=0)
            return
        await self._until_done(event, delivery)

    async def consume_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Process a fetched batch in order, in as few transactions as possible (one commit,
        one WAL flush for the lot); return only when each delivery is handled or
        dead-lettered. One that cannot be decoded, or whose handling fails, takes the
        one-at-a-time path of `consume` (retries, dead letter); those before it are
        committed first.

        One transaction at a time: effects commit in the order the messages came, so that
        what they store in sequence (notifications read by a cursor) has no gaps.
        """
        start = 0
        while start < len(deliveries):
            batch = self._decodable(deliveries[start:])
            if not batch:
                await self.consume(deliveries[start])  # dead-letters it
                start += 1
                continue
            failure = await self._apply_batch(batch)
            if failure is None:
                start += len(batch)
                continue
            if self.batch_handler is not None:
                # Which event made the batch fail is not known: each is applied on its own.
                for delivery, event in batch:
                    await self._until_done(event, delivery)
                start += len(batch)
                continue
            index, error = failure
            if index:
                await self.consume_batch([delivery for delivery, _ in batch[:index]])
            delivery, event = batch[index]
            await self._until_done(event, delivery, error)
            start += index + 1

    def _decodable(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, Event]]:
        """The deliveries up to the first one that is oversized or not a known event."""
        decoded = []
        for delivery in deliveries:
            if len(delivery.value) > self.max_event_bytes:
                break
            try:
                decoded.append((delivery, decode(delivery.value)))
            except DecodeError:
                break
        return decoded

    async def _until_done(
        self, event: Event, delivery: Delivery, failed: Exception | None = None
    ) -> None:
        """Apply `event` on its own, retrying with backoff, then dead-letter it. `failed` is
        the error of a first attempt already made (in a batch). An unreachable database is
        waited for, and a missing prerequisite (NotYet) for a while, whatever the attempts."""
        attempt, began = 1, asyncio.get_running_loop().time()
        while True:
            if failed is None:
                try:
                    await self._apply(event, delivery)
                    return
                except Exception as exc:
                    failed = exc
            if isinstance(failed, Refused):
                await self._dead_letter(delivery, failed.code, failed.detail, attempts=attempt)
                return
            metrics.EVENTS_FAILED.labels(self.name, event.event_type).inc()
            waited = asyncio.get_running_loop().time() - began
            waiting = isinstance(failed, UNAVAILABLE) or (
                isinstance(failed, NotYet) and waited < self.not_yet_patience_s
            )
            if attempt >= self.max_attempts and not waiting:
                await self._dead_letter(delivery, "handler_failed", repr(failed)[:500], attempt)
                return
            log.warning(
                "%s: attempt %d failed for %s: %r", self.name, attempt, event.event_id, failed
            )
            await asyncio.sleep(min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            attempt, failed = attempt + 1, None

    async def _apply(self, event: Event, delivery: Delivery) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            applied = await self._handle(conn, event, delivery)
        if applied:
            metrics.handled(self.name, event)
        crash_point("consumer_after_commit")

    async def _apply_batch(
        self, batch: Sequence[tuple[Delivery, Event]]
    ) -> tuple[int, Exception] | None:
        """Apply every event of `batch` in one transaction; on failure roll all back and
        return which one failed, and how."""
        applied: list[tuple[Event, Delivery]] = []
        index = 0
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                fresh = await inbox.claim_many(conn, self.name, [e.event_id for _, e in batch])
                for index, (delivery, event) in enumerate(batch):  # noqa: B007
                    # The first of two copies in one batch is applied, the second is not.
                    if event.event_id in fresh or not self.check_inbox:
                        fresh.discard(event.event_id)
                        applied.append((event, delivery))
                        if self.batch_handler is None:
                            await self._apply_claimed(conn, event, delivery)
                if self.batch_handler is not None and applied:
                    await self._apply_together(conn, self.batch_handler, applied)
        except Exception as exc:
            return index, exc
        for event, _ in applied:
            metrics.handled(self.name, event)
        crash_point("consumer_after_commit")
        return None

    async def _apply_together(
        self, conn: Connection, batch_handler: BatchHandler, applied: list[tuple[Event, Delivery]]
    ) -> None:
        async with batch_handler(conn, [event for event, _ in applied]) as apply_one:
            for event, delivery in applied:
                with handling(self.name, event, delivery):
                    await apply_one(event)

    async def _handle(self, conn: Connection, event: Event, delivery: Delivery) -> bool:
        """Claim `event` in the inbox and apply it, in the caller's transaction; False when
        it is a duplicate."""
        if not await inbox.claim(conn, self.name, event.event_id) and self.check_inbox:
            return False
        await self._apply_claimed(conn, event, delivery)
        return True

    async def _apply_claimed(self, conn: Connection, event: Event, delivery: Delivery) -> None:
        with handling(self.name, event, delivery):
            await self.handler(conn, event)

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
