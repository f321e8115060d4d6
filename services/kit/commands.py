"""The skeleton every command shares, written once: authorise the caller to act for a hosted
agency, then run the change on one connection in one transaction. The use case and the view
it answers with stay in the route, where they can be read."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends

from services.kit.auth import Principal, require_act
from services.kit.database import Connection
from services.kit.provided import provided
from services.kit.refusals import Refused


@dataclass(frozen=True)
class CommandGate:
    """The changes of one service process: who may act for which hosted agency, and the
    transaction each change runs in."""

    pool: asyncpg.Pool
    hosted: frozenset[str]

    def authorise(self, caller: Principal, agency: str) -> None:
        """403 unless the caller may act for the agency and the agency is hosted here."""
        require_act(caller, agency)
        if agency not in self.hosted:
            raise Refused("not_hosted", f"{agency} is not served by this service")

    @contextlib.asynccontextmanager
    async def acting_for(self, caller: Principal, agency: str) -> AsyncIterator[Connection]:
        """`authorise`, then a connection in a transaction that commits when the block ends."""
        self.authorise(caller, agency)
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn


Commands = Annotated[CommandGate, Depends(provided(CommandGate))]
