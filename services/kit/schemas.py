"""Request bodies every feature builds on."""

from pydantic import BaseModel, ConfigDict

from contracts.envelope import AgencyId


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a typo is a 422 naming it, not silently lost."""

    model_config = ConfigDict(extra="forbid")


class Act(Body):
    """The acting agency (a hosted party of the handoff)."""

    agency: AgencyId
