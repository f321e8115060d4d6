"""HTTP bodies naming a person: by personnummer (kept in this agency) or by pseudonym."""

from pydantic import BaseModel, Field, field_validator, model_validator

from contracts.envelope import AgencyId, SubjectRef
from services.kit.identity import parse_personnummer
from services.kit.schemas import Body


class SubjectInput(Body):
    """Who the handoff is about: a personnummer (kept in this agency) or a known pseudonym."""

    subject: SubjectRef | None = None
    personnummer: str | None = Field(
        default=None,
        description="Personnummer or samordningsnummer (10 or 12 digits). Validated, kept in"
        " this agency's database, and replaced by its pseudonym everywhere else.",
    )
    protected_identity: bool = Field(
        default=False, description="Skyddad folkbokföring: no location or school data is shared."
    )

    @field_validator("personnummer")
    @classmethod
    def _valid_personnummer(cls, value: str | None) -> str | None:
        return None if value is None else parse_personnummer(value).number

    @model_validator(mode="after")
    def _exactly_one_identity(self) -> "SubjectInput":
        if (self.subject is None) == (self.personnummer is None):
            raise ValueError("give exactly one of 'subject' and 'personnummer'")
        return self


class SubjectRegistration(SubjectInput):
    """Register a person with an agency and get the pseudonym to use for them."""

    agency: AgencyId


class SubjectView(BaseModel):
    """The pseudonym to use for a registered person."""

    subject: str
    protected_identity: bool
