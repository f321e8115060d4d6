"""Live notifications: PostgreSQL NOTIFY (sent only when a transaction commits) wakes the SSE
streams of this process, which then read the stored notifications after their cursor. A client
that reconnects with Last-Event-ID misses nothing."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from services.kit.database import Connection
from services.kit.handoffs import repository as repo
from services.kit.handoffs.schemas import Notification

HEARTBEAT_S = 15.0


class NotificationHub:
    """Wakes every open stream of this process when a notification is committed."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiters: set[asyncio.Event] = set()
        self._conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record] | None = None
        self._relisten: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen for committed notifications, on a new connection if this one is lost."""
        self._conn = await self._pool.acquire()
        await self._conn.add_listener(repo.NOTIFY_CHANNEL, self._wake_all)
        self._conn.add_termination_listener(self._connection_lost)

    async def stop(self) -> None:
        """Stop listening and release the connection."""
        if self._relisten is not None:
            self._relisten.cancel()
        if self._conn is not None:
            self._conn.remove_termination_listener(self._connection_lost)
            with contextlib.suppress(Exception):
                await self._conn.remove_listener(repo.NOTIFY_CHANNEL, self._wake_all)
            await self._pool.release(self._conn)
            self._conn = None

    def _connection_lost(self, *_: object) -> None:
        # PostgreSQL restarted: until a new connection listens, streams read at each heartbeat.
        self._wake_all()
        self._relisten = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._pool.release(self._conn)
            self._conn = None
        while True:
            try:
                await self.start()
            except Exception:
                await asyncio.sleep(1.0)
            else:
                self._wake_all()  # what was committed meanwhile
                return

    def _wake_all(self, *_: object) -> None:
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
