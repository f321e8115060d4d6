"""Connection pool and migrations for a service's own database.

Migrations are plain SQL files applied in name order, each once, in its own transaction,
under an advisory lock so that two processes starting together do not race. Written here
rather than taken from a migration tool because the needs are this small and asyncpg is
already the driver.
"""

from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# Every connection a service uses comes from its pool.
Connection: TypeAlias = "PoolConnectionProxy[Any] | asyncpg.Connection[Any]"

_LOCK_ID = 73_011_975


async def create_pool(dsn: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open an asyncpg pool to the service's database."""
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


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
