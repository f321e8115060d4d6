"""Live notifications: a transaction that stores notifications wakes the SSE streams of this
process when it has ended; they then read the stored notifications after their cursor, and
otherwise at each heartbeat. A client that reconnects with Last-Event-ID misses nothing."""

import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from services.kit.database import Connection
from services.kit.handoffs import repository as repo
from services.kit.handoffs.schemas import Notification

HEARTBEAT_S = 15.0


# The hubs of this process: one in a deployment, several when tests run services side by side.
_hubs: "weakref.WeakSet[NotificationHub]" = weakref.WeakSet()


def wake_streams() -> None:
    """Wake every open stream of this process to read what was committed."""
    for hub in _hubs:
        hub.wake_all()


class NotificationHub:
    """Wakes every open stream of this process when a transaction that stored notifications
    has ended (see `database.wake_after_transaction`)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiters: set[asyncio.Event] = set()
        _hubs.add(self)

    def wake_all(self) -> None:
        """Have each open stream read the notifications after its cursor."""
        for waiter in self._waiters:
            waiter.set()

    async def stream(
        self,
        agency: str,
        caseworker: str | None,
        after: int | None,
        delivered: Callable[[Connection, list[Any]], Awaitable[None]],
    ) -> AsyncIterator[dict[str, str]]:
        """SSE messages for `agency`: a `ready` event with the cursor, then each notification,
        once `delivered` has logged the read (on the connection that read it)."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
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
        finally:
            self._waiters.discard(waiter)
