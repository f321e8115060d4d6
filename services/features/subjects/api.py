"""HTTP entry point of the registry of persons, and the lookup other features' routes use."""

from typing import Annotated

from fastapi import APIRouter, Depends

from services.features.subjects import repository
from services.features.subjects.schemas import SubjectInput, SubjectRegistration, SubjectView
from services.kit.auth import require_act
from services.kit.database import Connection
from services.kit.dependencies import Caller, Pool
from services.kit.identity import Pseudonymizer, parse_personnummer
from services.kit.provided import provided

Pseudonyms = Annotated[Pseudonymizer, Depends(provided(Pseudonymizer))]


async def subject_of(
    conn: Connection, pseudonyms: Pseudonymizer, body: SubjectInput, agency: str
) -> tuple[str, bool]:
    """The pseudonym for the person in `body` (registering a personnummer), and protection."""
    if body.personnummer is None:
        assert body.subject is not None
        return body.subject, body.protected_identity or await repository.is_protected(
            conn, body.subject
        )
    identity = parse_personnummer(body.personnummer)
    return await repository.register(conn, pseudonyms, identity, agency, body.protected_identity)


async def register_subject(
    body: SubjectRegistration, caller: Caller, pool: Pool, pseudonyms: Pseudonyms
) -> SubjectView:
    """Register a person (by personnummer) and get the pseudonym used for them."""
    require_act(caller, body.agency)
    async with pool.acquire() as conn, conn.transaction():
        subject, protected = await subject_of(conn, pseudonyms, body, body.agency)
    return SubjectView(subject=subject, protected_identity=protected)


def subject_router() -> APIRouter:
    """The route registering a person."""
    router = APIRouter(tags=["handoffs"])
    router.post("/subjects", status_code=201)(register_subject)
    return router
