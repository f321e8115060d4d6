"""HTTP request and response bodies of the handoff API."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from contracts.codes import (
    CancelReason,
    ContactChannel,
    DataCategory,
    FailureReason,
    Outcome,
    PauseReason,
    ReferralReason,
    RejectionReason,
)
from contracts.envelope import AgencyId, LegalBasis, StaffId
from services.features.handoffs.domain import Handoff
from services.features.subjects.schemas import SubjectInput
from services.kit.schemas import Act


class ReferralRequest(SubjectInput):
    """A new referral from a hosted agency."""

    sender: AgencyId
    receiver: AgencyId
    reason: ReferralReason
    data_categories: Annotated[list[DataCategory], Field(min_length=1)]
    legal_basis: LegalBasis
    respond_within_days: int = Field(default=14, ge=0, le=90)


class Reject(Act):
    """Reject with a coded reason."""

    reason: RejectionReason


class Assign(Act):
    """Assign a caseworker."""

    caseworker: StaffId


class Contact(Act):
    """A contact attempt or the first contact made."""

    channel: ContactChannel


class Pause(Act):
    """Put on hold."""

    reason: PauseReason


class Complete(Act):
    """Close with an outcome."""

    outcome: Outcome


class Fail(Act):
    """Close without success."""

    reason: FailureReason


class Cancel(Act):
    """Cancel an open handoff."""

    reason: CancelReason


class Redirect(Act):
    """Pass a rejected or failed referral on to another agency as a new, linked referral."""

    receiver: AgencyId
    reason: ReferralReason
    data_categories: Annotated[list[DataCategory], Field(min_length=1)]
    legal_basis: LegalBasis | None = Field(
        default=None, description="Defaults to the legal basis of the referral redirected."
    )
    respond_within_days: int = Field(default=14, ge=0, le=90)


class HandoffView(BaseModel):
    """A handoff as an agency sees it, with what that agency may do next."""

    referral_id: UUID
    kind: str
    sender: str
    receiver: str
    subject: str
    state: str
    reason: str | None
    outcome: str | None
    caseworker: str | None
    parent_referral_id: UUID | None
    legal_basis: dict[str, Any]
    respond_by: datetime
    requested_at: datetime
    updated_at: datetime
    protected_identity: bool
    allowed_actions: list[str]

    @classmethod
    def of(cls, handoff: Handoff, agency: str) -> "HandoffView":
        """View of `handoff` for `agency`."""
        return cls(
            referral_id=handoff.referral_id,
            kind=handoff.kind.value,
            sender=handoff.sender,
            receiver=handoff.receiver,
            subject=handoff.subject,
            state=handoff.state.value,
            reason=handoff.reason,
            outcome=handoff.outcome,
            caseworker=handoff.caseworker,
            parent_referral_id=handoff.parent_referral_id,
            legal_basis=handoff.legal_basis,
            respond_by=handoff.respond_by,
            requested_at=handoff.requested_at,
            updated_at=handoff.updated_at,
            protected_identity=handoff.protected_identity,
            allowed_actions=handoff.allowed(agency),
        )


class TimelineEntry(BaseModel):
    """One step on a subject's timeline across agencies."""

    referral_id: UUID
    kind: str
    sender: str
    receiver: str
    parent_referral_id: UUID | None
    event_id: UUID
    event_type: str
    producer: str
    occurred_at: datetime
    causation_id: UUID | None
    state_after: str
    code: str | None


class Notification(BaseModel):
    """A change an agency (or its caseworker) is told about."""

    id: int
    agency: str
    caseworker: str | None
    referral_id: UUID
    event_id: UUID
    event_type: str
    state: str
    subject: str
    created_at: datetime
