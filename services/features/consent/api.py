"""HTTP entry points for consent: record, withdraw, list a subject's consents."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from pydantic import AwareDatetime, BaseModel, Field

from contracts.codes import AccessedResource, ConsentGiver, ConsentMethod, DataCategory
from contracts.envelope import AgencyId
from services.features.consent import repository as consents
from services.features.consent.domain import Consent
from services.features.consent.service import ConsentDesk
from services.features.subjects.api import Pseudonyms, subject_of
from services.features.subjects.schemas import SubjectInput
from services.kit.access_log import Purpose, Reads
from services.kit.auth import require_act
from services.kit.dependencies import Caller, Pool
from services.kit.provided import provided
from services.kit.schemas import Act


class ConsentRequest(SubjectInput):
    """A consent the person gave to a hosted agency, with its proof and scope."""

    agency: AgencyId
    given_by: ConsentGiver
    method: ConsentMethod
    recipients: Annotated[list[AgencyId], Field(min_length=1)]
    data_categories: Annotated[list[DataCategory], Field(min_length=1)]
    valid_from: AwareDatetime | None = Field(default=None, description="Defaults to now.")
    valid_until: AwareDatetime


class ConsentView(BaseModel):
    """A consent as recorded."""

    consent_id: UUID
    subject: str
    recorded_by: str
    given_by: str
    method: str
    recipients: list[str]
    data_categories: list[str]
    valid_from: datetime
    valid_until: datetime
    recorded_at: datetime
    withdrawn_at: datetime | None

    @classmethod
    def of(cls, consent: Consent) -> "ConsentView":
        """View of a consent."""
        return cls.model_validate(consent, from_attributes=True)


Desk = Annotated[ConsentDesk, Depends(provided(ConsentDesk))]
Subject = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


async def record_consent(
    body: ConsentRequest, caller: Caller, pool: Pool, desk: Desk, pseudonyms: Pseudonyms
) -> ConsentView:
    """Record a consent; its recipients learn of it and may rely on it."""
    require_act(caller, body.agency)
    async with pool.acquire() as conn, conn.transaction():
        subject, _ = await subject_of(conn, pseudonyms, body, body.agency)
        consent = await desk.record(
            conn, body.agency, subject, body.given_by, body.method, body.recipients,
            body.data_categories, body.valid_from or desk.clock(), body.valid_until,
        )  # fmt: skip
    return ConsentView.of(consent)


async def withdraw_consent(
    consent_id: UUID, body: Act, caller: Caller, pool: Pool, desk: Desk
) -> ConsentView:
    """Withdraw a consent: nothing more is shared under it, open referrals are cancelled."""
    require_act(caller, body.agency)
    async with pool.acquire() as conn, conn.transaction():
        consent = await desk.withdraw(conn, consent_id, body.agency)
    return ConsentView.of(consent)


async def subject_consents(
    agency: str,
    # A pseudonym (64 hex digits): the read is logged under it.
    subject: Subject,
    caller: Caller,
    pool: Pool,
    reads: Reads,
    purpose: Purpose = None,
) -> list[ConsentView]:
    """Consents recorded for a subject that name or were recorded by the agency."""
    reads.authorise(caller, agency)
    async with pool.acquire() as conn:
        found = [
            c
            for c in await consents.of_subject(conn, subject)
            if agency == c.recorded_by or agency in c.recipients
        ]
    await reads.log(caller, purpose, AccessedResource.CONSENT, [(subject, None)])
    return [ConsentView.of(c) for c in found]


def consent_router() -> APIRouter:
    """Routes for consents."""
    router = APIRouter(tags=["consent"])
    router.post("/consents", status_code=201)(record_consent)
    router.post("/consents/{consent_id}/withdraw")(withdraw_consent)
    router.get("/agencies/{agency}/subjects/{subject}/consents")(subject_consents)
    return router
