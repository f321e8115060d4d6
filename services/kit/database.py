"""Connection pool and migrations for a service's own database.

Migrations are plain SQL files applied in name order, each once, in its own transaction,
under an advisory lock so that two processes starting together do not race. Written here
rather than taken from a migration tool because the needs are this small and asyncpg is
already the driver.
"""

import asyncio
import weakref
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# Every connection a service uses comes from its pool.
Connection: TypeAlias = "PoolConnectionProxy[Any] | asyncpg.Connection[Any]"

_LOCK_ID = 73_011_975
# Server process id of a pooled connection -> what to ring when it is back in its pool.
_ring_on_release: dict[int, set["Doorbell"]] = {}


async def create_pool(dsn: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open an asyncpg pool to the service's database."""
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, reset=_released)
    assert pool is not None
    return pool


class Doorbell:
    """Wakes what waits in this process for a kind of committed write (staged events, stored
    notifications). Used instead of NOTIFY: PostgreSQL makes the commits of all transactions
    that NOTIFY, in every database of the server, wait in line for one lock, and nearly every
    transaction here writes to the outbox. A second process of the same service is not woken;
    it finds the rows when it next looks.
    """

    def __init__(self) -> None:
        self._waiters: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()

    def listen(self) -> asyncio.Event:
        """A waiter, set at every ring; forgotten with whoever holds it."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        return waiter

    def ring(self) -> None:
        """Set every waiter."""
        for waiter in self._waiters:
            waiter.set()

    def ring_after_transaction(self, conn: Connection) -> None:
        """Ring when `conn` is back in its pool, that is once the transaction it is in has
        ended, so that the waiters read what it wrote."""
        _ring_on_release.setdefault(conn.get_server_pid(), set()).add(self)


async def _released(conn: "asyncpg.Connection[Any]") -> None:
    """Pool reset hook: ring for this connection's transaction, then reset the session as
    asyncpg does by default. A rolled-back transaction rings for nothing."""
    for bell in _ring_on_release.pop(conn.get_server_pid(), ()):
        bell.ring()
    await conn.reset()


async def migrate(pool: asyncpg.Pool, *folders: Path) -> list[str]:
    """Apply the *.sql files in `folders` not applied yet; return the names applied now."""
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            # Folders in the order given (kit first), files in name order within each.
            for path in [p for folder in folders for p in sorted(folder.glob("*.sql"))]:
                name = f"{path.parent.parent.name}/{path.name}"
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute("INSERT INTO schema_migrations(name) VALUES ($1)", name)
                applied_now.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied_now


# The database is unreachable (restarting, connections dropped). Nothing is wrong with the
# request or message, so it is answered 503 (HTTP) or retried until the database is back
# (Kafka), never dead-lettered for this.
UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
