"""Whether an event may cross an agency boundary on the basis it names. No I/O."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from contracts import ConsentBasis, DisclosureBasis, DutyBasis, Event, LegalDuty
from contracts.catalogue import meaning_of
from contracts.events import (
    ConcernReported,
    ConsentRecorded,
    DropoutReported,
    HandoffOpened,
    RecordAccessed,
    ReferralRequested,
)


@dataclass(frozen=True)
class Consent:
    """A consent and its proof: who gave it, how, to whom, for what, for how long."""

    consent_id: UUID
    subject: str
    recorded_by: str
    given_by: str
    method: str
    recipients: tuple[str, ...]
    data_categories: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    recorded_at: datetime
    withdrawn_at: datetime | None = None

    @classmethod
    def from_event(cls, event: ConsentRecorded) -> "Consent":
        """The consent an event records."""
        return cls(
            consent_id=event.correlation_id,
            subject=event.subject,
            recorded_by=event.producer,
            given_by=event.given_by.value,
            method=event.method.value,
            recipients=tuple(event.recipients),
            data_categories=tuple(c.value for c in event.data_categories),
            valid_from=event.valid_from,
            valid_until=event.valid_until,
            recorded_at=event.occurred_at,
        )

    def withdrawn(self, at: datetime) -> "Consent":
        """The consent after withdrawal."""
        return replace(self, withdrawn_at=self.withdrawn_at or at)

    def problems(
        self, subject: str, recipient: str, categories: Iterable[str], at: datetime
    ) -> list[str]:
        """What this consent does not cover, for sharing about `subject` with `recipient`."""
        found = []
        if self.subject != subject:
            found.append("consent is for another subject")
        if recipient not in self.recipients:
            found.append(f"consent does not cover recipient {recipient}")
        missing = sorted(set(categories) - set(self.data_categories))
        if missing:
            found.append(f"consent does not cover data categories {', '.join(missing)}")
        if at < self.valid_from:
            found.append("consent is not yet valid")
        if at > self.valid_until:
            found.append("consent has expired")
        if self.withdrawn_at is not None and self.withdrawn_at <= at:
            found.append("consent was withdrawn")
        return found


def _duty_problems(event: Event, duty: LegalDuty) -> list[str]:
    if duty is LegalDuty.CONCERN_REPORT:
        ok = isinstance(event, ConcernReported) and event.subject_is_child
        return [] if ok else ["the duty to report concern covers reports about children only"]
    if duty is LegalDuty.KAA_NOTIFICATION:
        ok = isinstance(event, DropoutReported) and event.under_20
        return [] if ok else ["the KAA duty covers dropout reports about people under 20 only"]
    if duty is LegalDuty.LOG_REVIEW:
        ok = isinstance(event, RecordAccessed)
        return [] if ok else ["log review is a basis for access records only"]
    return [f"{duty.value} is not a basis for sharing {event.event_type}"]


def basis_problems(event: HandoffOpened | RecordAccessed, consent: Consent | None) -> list[str]:
    """Why `event` may not be shared on the basis it names (empty when it may).

    `consent` is the consent the basis refers to, if the basis is consent and it is known.
    """
    basis = event.legal_basis
    if isinstance(basis, DutyBasis):
        return _duty_problems(event, basis.duty)
    if isinstance(basis, DisclosureBasis):
        ok = isinstance(event, ReferralRequested)
        return [] if ok else ["necessary disclosure applies to referrals only"]
    assert isinstance(basis, ConsentBasis)
    if consent is None:
        return [f"no consent {basis.consent_id} is recorded"]
    if not isinstance(event, HandoffOpened):
        return []
    categories = (
        [c.value for c in event.data_categories]
        if isinstance(event, ReferralRequested)
        # What a duty report necessarily shares, checked when one is sent on consent.
        else [c.value for c in meaning_of(event).shares]
    )
    return consent.problems(event.subject, event.receiver, categories, event.occurred_at)
