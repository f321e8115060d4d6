"""Plugs the audit log into the audit service: the consumer of every event topic (its Kafka
entry point, which hands the recorder each event's bytes and place), the signed head at
start-up, and the periodic publication of heads."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

from contracts import EVENT_TOPICS, Event
from services.audit.domain import Received
from services.audit.service import AuditLog, Recorder
from services.features.proofs.heads import Signer
from services.kit.consumer import current_delivery
from services.kit.database import Connection
from services.kit.runtime import Part, Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


def received() -> Received:
    """The Kafka record of the event being handled, as the audit log keeps it."""
    delivery = current_delivery.get()
    return Received(delivery.topic, delivery.partition, delivery.offset, delivery.value)


def installer(signer: Signer, publish_head_s: float) -> Part:
    """The part that keeps the log, signing with `signer` and publishing heads that often."""

    async def install(runtime: Runtime) -> None:
        recorder = Recorder(runtime.pool, signer)
        await recorder.sign_head()

        async def record(conn: Connection, _: Event) -> None:
            await recorder.record(conn, [received()])

        @contextlib.asynccontextmanager
        async def record_batch(
            conn: Connection, _: Sequence[Event]
        ) -> AsyncIterator[Callable[[Event], Awaitable[None]]]:
            # One append (one head lock, one signature) for the whole batch.
            batch: list[Received] = []

            async def keep(_: Event) -> None:
                batch.append(received())

            yield keep
            await recorder.record(conn, batch)

        # Not the dead-letter topic: what is there failed to decode and is not an event.
        runtime.subscribe("log", [topic.name for topic in EVENT_TOPICS], record, record_batch)
        runtime.run_every("publish-head", publish_head_s, recorder.publish_head)
        runtime.provide(AuditLog(runtime.pool, signer.public_key))

    return install
