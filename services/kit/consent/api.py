"""HTTP entry points for consent: record, withdraw, list a subject's consents."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request
from pydantic import AwareDatetime, BaseModel, Field

from contracts.codes import AccessedResource, ConsentGiver, ConsentMethod, DataCategory
from contracts.envelope import AgencyId
from services.kit.auth import require_act
from services.kit.consent import repository as consents
from services.kit.consent.domain import Consent
from services.kit.consent.service import ConsentDesk
from services.kit.handoffs.api import Caller, pool_of, subject_of
from services.kit.handoffs.reads import Purpose, authorise_read, logged
from services.kit.handoffs.schemas import Act, SubjectInput


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


def desk_of(request: Request) -> ConsentDesk:
    """The service's consent desk."""
    desk: ConsentDesk = request.app.state.consents
    return desk


def consent_router() -> APIRouter:
    """Routes for consents."""
    router = APIRouter(tags=["consent"])

    @router.post("/consents", status_code=201)
    async def record_consent(body: ConsentRequest, request: Request, caller: Caller) -> ConsentView:
        """Record a consent; its recipients learn of it and may rely on it."""
        require_act(caller, body.agency)
        desk = desk_of(request)
        async with pool_of(request).acquire() as conn, conn.transaction():
            subject, _ = await subject_of(conn, request, body, body.agency)
            consent = await desk.record(
                conn, body.agency, subject, body.given_by, body.method, body.recipients,
                body.data_categories, body.valid_from or desk.clock(), body.valid_until,
            )  # fmt: skip
        return ConsentView.of(consent)

    @router.post("/consents/{consent_id}/withdraw")
    async def withdraw_consent(
        consent_id: UUID, body: Act, request: Request, caller: Caller
    ) -> ConsentView:
        """Withdraw a consent: nothing more is shared under it, open referrals are cancelled."""
        require_act(caller, body.agency)
        async with pool_of(request).acquire() as conn, conn.transaction():
            consent = await desk_of(request).withdraw(conn, consent_id, body.agency)
        return ConsentView.of(consent)

    @router.get("/agencies/{agency}/subjects/{subject}/consents")
    async def subject_consents(
        agency: str,
        # A pseudonym (64 hex digits): the read is logged under it.
        subject: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
        request: Request,
        caller: Caller,
        purpose: Purpose = None,
    ) -> list[ConsentView]:
        """Consents recorded for a subject that name or were recorded by the agency."""
        authorise_read(request, caller, agency)
        async with pool_of(request).acquire() as conn:
            found = [
                c
                for c in await consents.of_subject(conn, subject)
                if agency == c.recorded_by or agency in c.recipients
            ]
        await logged(request, caller, purpose, AccessedResource.CONSENT, [(subject, None)])
        return [ConsentView.of(c) for c in found]

    return router
