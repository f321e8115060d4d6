"""Live notifications: a transaction that stores notifications wakes the SSE streams of this
process when it has ended; they then read the stored notifications after their cursor, and
otherwise at each heartbeat. A client that reconnects with Last-Event-ID misses nothing."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from services.features.handoffs import repository as repo
from services.features.handoffs.schemas import Notification
from services.kit.database import Connection, Doorbell

HEARTBEAT_S = 15.0


# Rung when a transaction that stored notifications has ended: the open streams read them.
NOTIFIED = Doorbell()


class NotificationHub:
    """The live streams of this process's agencies, woken by `NOTIFIED`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def stream(
        self,
        agency: str,
        caseworker: str | None,
        after: int | None,
        delivered: Callable[[Connection, list[Any]], Awaitable[None]],
    ) -> AsyncIterator[dict[str, str]]:
        """SSE messages for `agency`: a `ready` event with the cursor, then each notification,
        once `delivered` has logged the read (on the connection that read it)."""
        waiter = NOTIFIED.listen()
        if after is None:
            async with self._pool.acquire() as conn:
                after = await repo.last_notification_id(conn, agency)
        yield {"event": "ready", "data": json.dumps({"cursor": after})}
        while True:
            waiter.clear()
            async with self._pool.acquire() as conn:
                rows = await repo.notifications_after(conn, agency, after, caseworker)
                if rows:
                    await delivered(conn, rows)  # logged before it is shown
            for row in rows:
                after = row["id"]
                body = Notification.model_validate(dict(row)).model_dump_json()
                yield {"id": str(after), "event": "handoff", "data": body}
            if not rows:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HEARTBEAT_S):  # not wait_for: see outbox
                        await waiter.wait()
