"""The event envelope every integration event carries, and the legal basis for sharing it."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

AgencyId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9.\-]{1,62}$"),
    Field(description="Agency identifier from the agency registry, e.g. 'ale.school.gymnasium'."),
]
SubjectRef = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{64}$"),
    Field(
        description="Pseudonymous subject reference: HMAC-SHA256 of the personnummer under a key"
        " that never leaves the agency. The personnummer itself never travels on the bus."
    ),
]
StaffId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9._@\-]{1,64}$"),
    Field(description="Identifier of a caseworker or system user inside its agency."),
]


class Frozen(BaseModel):
    """Base for contract data: immutable, and tolerant of fields added by newer producers."""

    # extra="ignore": additive schema evolution must not break older consumers, and unknown
    # fields are dropped rather than stored, so nothing unexpected is kept.
    model_config = ConfigDict(frozen=True, extra="ignore")


class LegalDuty(StrEnum):
    """Statutory duties that allow information to cross an agency boundary without consent."""

    CONCERN_REPORT = "SoL 14 kap. 1 §"
    KAA_NOTIFICATION = "SkolL 29 kap. 9 §"
    LOG_REVIEW = "OSL 5 kap. / dataskydd loggkontroll"
    ESF_PARTICIPANT_DATA = "Förordning (EU) 2021/1057 art. 17"


class DisclosureProvision(StrEnum):
    """Provisions for necessary disclosure (nödvändigt utlämnande)."""

    OSL_10_2 = "OSL 10 kap. 2 §"
    OSL_10_28 = "OSL 10 kap. 28 §"


class ConsentBasis(Frozen):
    """Shared because the person consented (samtycke, OSL 12 kap.)."""

    kind: Literal["consent"] = "consent"
    consent_id: UUID


class DutyBasis(Frozen):
    """Shared because the law requires it (e.g. orosanmälan, KAA)."""

    kind: Literal["legal_duty"] = "legal_duty"
    duty: LegalDuty


class DisclosureBasis(Frozen):
    """Shared because disclosure is necessary under a named provision."""

    kind: Literal["necessary_disclosure"] = "necessary_disclosure"
    provision: DisclosureProvision


LegalBasis = Annotated[ConsentBasis | DutyBasis | DisclosureBasis, Field(discriminator="kind")]


class Event(Frozen):
    """Envelope fields common to every integration event.

    `correlation_id` is the referral id for handoff events (and the consent, signal or
    participation id otherwise); it is also the Kafka message key, so one referral's events
    stay in order on one partition.
    """

    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: AwareDatetime
    producer: AgencyId
    correlation_id: UUID
    causation_id: UUID | None = None
    subject: SubjectRef
    legal_basis: LegalBasis

    @property
    def key(self) -> bytes:
        """The Kafka message key."""
        return str(self.correlation_id).encode()


def utc_now() -> datetime:
    """Aware 'now' in UTC, the only clock format on the bus."""
    return datetime.now(UTC)
