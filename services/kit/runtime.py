"""What a running service process has, and how its parts plug into it at start-up.

A part (the handoff loop, the audit log, a report) is a function that receives the Runtime and
subscribes handlers, starts background jobs and provides what its HTTP routes need.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from contracts.topics import DEAD_LETTER
from services.kit.agencies import AgencyRegistry
from services.kit.broker import subscribe
from services.kit.consumer import BatchHandler, EventConsumer, Handler
from services.kit.outbox import OutboxRelay
from services.kit.provided import provide
from services.kit.publisher import Publisher
from services.kit.settings import ServiceSettings

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 10.0


@dataclass
class Runtime:
    """The shared resources of one service process."""

    app: FastAPI
    settings: ServiceSettings
    registry: AgencyRegistry
    pool: asyncpg.Pool
    publisher: Publisher
    broker: KafkaBroker
    relay: OutboxRelay
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def subscribe(
        self,
        consumer_name: str,
        topics: list[str],
        handler: Handler,
        batch_handler: BatchHandler | None = None,
    ) -> EventConsumer:
        """Feed contract topics to `handler`, exactly once in effect, in this service's group.
        `batch_handler`, if given, applies a batch of events at once (`handler` still applies
        one on its own when the batch fails)."""
        kafka = self.settings.kafka
        consumer = EventConsumer(
            name=f"{self.settings.service}.{consumer_name}",
            pool=self.pool,
            handler=handler,
            publisher=self.publisher,
            dead_letter_topic=kafka.topic(DEAD_LETTER.name),
            max_attempts=kafka.max_attempts,
            backoff_s=kafka.retry_backoff_s,
            max_event_bytes=kafka.max_event_bytes,
            check_inbox=not self.settings.unsafe_skip_inbox_check_for_control_run,
            batch_handler=batch_handler,
        )
        subscribe(
            self.broker,
            [kafka.topic(t) for t in topics],
            f"samverkan.{consumer.name}",
            consumer,
            kafka.session_timeout_ms,
            kafka.batch_max,
            kafka.batch_wait_ms,
            kafka.fetch_min_bytes,
            kafka.fetch_max_wait_ms,
        )
        return consumer

    def provide(self, thing: Any, kind: type[Any] | None = None) -> None:
        """Make `thing` available to the service's routes by its type (see `provided`)."""
        provide(self.app, thing, kind)

    def run(self, name: str, job: Coroutine[Any, Any, None]) -> None:
        """Run `job` in the background until the service stops."""
        self.tasks.append(asyncio.create_task(job, name=name))

    def run_every(self, name: str, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        """Run `job` every `seconds`; a failure is logged and retried next time."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    await job()
                except Exception:
                    log.exception("%s failed; will retry", name)

        self.run(name, loop())

    def on_stop(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Call `closer` when the service stops (before the pool closes)."""
        self.closers.append(closer)

    async def stop(self) -> None:
        """Cancel background jobs and run the closers, newest first."""
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            # A job that ignores its cancellation must not keep the process from stopping;
            # what it had not committed is redone after the restart (outbox, inbox).
            _, running = await asyncio.wait(self.tasks, timeout=STOP_TIMEOUT_S)
            for task in running:
                log.error("background job %s did not stop when cancelled", task.get_name())
        for closer in reversed(self.closers):
            await closer()


Part = Callable[[Runtime], Awaitable[None]]
