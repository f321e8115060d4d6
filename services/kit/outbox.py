"""Transactional outbox: events are written with the state change, and a relay publishes them.

The relay holds a PostgreSQL advisory lock so that only one process per database publishes,
which keeps each key's events in the order they were committed. It is woken when a
transaction of its process that staged events has ended, so that a handoff is published within
milliseconds, and polls as a fallback (events staged by another process).
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from uuid import UUID

import asyncpg

from contracts import ConsentBasis, Event, encode, topic_for
from services.kit.database import Connection, Doorbell
from services.kit.failpoints import crash_point
from services.kit.publisher import Publisher
from services.kit.telemetry import inject_context, publishing

log = logging.getLogger(__name__)
_RELAY_LOCK = 73_011_976

_STAGE = (
    "INSERT INTO outbox (event_id, topic, key, payload, headers, event_type, consent_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
Staged = tuple[UUID, str, bytes, bytes, str, str, UUID | None]
# Rung when a transaction that staged events has ended: the relays of this process look at once.
STAGED = Doorbell()


def staged(event: Event, topic_prefix: str = "") -> Staged:
    """The outbox row of `event`, carrying the trace context current now (the one it was
    made in), for `add_many`."""
    consent = event.legal_basis.consent_id if isinstance(event.legal_basis, ConsentBasis) else None
    return (
        event.event_id,
        topic_prefix + topic_for(event).name,
        event.key,
        encode(event),
        json.dumps(inject_context({"event_type": event.event_type})),
        event.event_type,
        consent,
    )


async def add(conn: Connection, event: Event, topic_prefix: str = "") -> None:
    """Stage `event` for publication inside the caller's transaction."""
    await conn.execute(_STAGE, *staged(event, topic_prefix))
    STAGED.ring_after_transaction(conn)


async def add_many(conn: Connection, rows: Iterable[Staged]) -> None:
    """Stage events (rows made by `staged`) for publication inside the caller's transaction,
    in the order given, in one round trip."""
    await conn.executemany(_STAGE, rows)
    STAGED.ring_after_transaction(conn)


async def backlog(pool: asyncpg.Pool) -> int:
    """How many staged events are not yet published."""
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND withheld_at IS NULL"
        )
        or 0
    )


class OutboxRelay:
    """Publishes staged events in commit order and marks them sent."""

    def __init__(
        self, pool: asyncpg.Pool, publisher: Publisher, batch: int = 200, idle_poll_s: float = 0.5
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._batch = batch
        self._idle_poll_s = idle_poll_s
        self._wake = STAGED.listen()
        # Run before each batch, e.g. to withhold events whose legal basis has lapsed.
        self.guards: list[Callable[[Connection], Awaitable[object]]] = []

    async def run(self) -> None:
        """Relay until cancelled. Only the holder of the relay lock publishes.

        A lost database connection (PostgreSQL restarting) or a failed publish does not end
        the relay: it starts over on a fresh connection, taking the lock again. The events
        stay staged meanwhile; any published but not yet marked sent go out again, and the
        consumers' inboxes drop the copies.
        """
        while True:
            try:
                await self._relay_on_one_connection()
            except Exception:
                log.warning("outbox relay interrupted; starting over", exc_info=True)
                await asyncio.sleep(self._idle_poll_s)

    async def _relay_on_one_connection(self) -> None:
        conn = await self._pool.acquire()
        try:
            # Another process holds the relay: wait to take over if it dies.
            while not await conn.fetchval(  # noqa: ASYNC110
                "SELECT pg_try_advisory_lock($1)", _RELAY_LOCK
            ):
                await asyncio.sleep(self._idle_poll_s)
            while True:
                if await self.relay_once(conn) == 0:
                    await self._sleep()
        finally:
            with contextlib.suppress(Exception):
                await conn.execute("SELECT pg_advisory_unlock_all()")
            await self._pool.release(conn)

    async def relay_once(self, conn: Connection) -> int:
        """Publish one batch of unsent events; return how many were sent."""
        for guard in self.guards:
            await guard(conn)
        rows = await conn.fetch(
            "SELECT id, topic, key, payload, headers FROM outbox"
            " WHERE sent_at IS NULL AND withheld_at IS NULL ORDER BY id LIMIT $1",
            self._batch,
        )
        if not rows:
            return 0
        crash_point("relay_before_publish")
        with publishing([(r["topic"], json.loads(r["headers"])) for r in rows]) as headers:
            await self._publisher.send_many(
                [
                    (r["topic"], r["key"], r["payload"], h)
                    for r, h in zip(rows, headers, strict=True)
                ]
            )
        crash_point("relay_after_publish")
        await conn.execute(
            "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )
        return len(rows)

    async def _sleep(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
        # arrives as the event fires, and the relay would then outlive the service's stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._idle_poll_s):
                await self._wake.wait()
        self._wake.clear()
