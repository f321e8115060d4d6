"""The agency registry: which agencies exist, where they are, what they receive, who hosts them."""

from collections.abc import Collection
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from contracts.codes import AgencyKind, HandoffKind


class Agency(BaseModel):
    """One agency (an organisation inside a municipality)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    kind: AgencyKind
    municipality: str
    service: str
    receives: tuple[HandoffKind, ...] = ()


class AgencyRegistry:
    """Look-ups over the configured agencies."""

    def __init__(self, agencies: list[Agency]) -> None:
        self._by_id = {a.id: a for a in agencies}

    @classmethod
    def load(cls, path: Path) -> "AgencyRegistry":
        """Read the registry from a YAML file with a top-level `agencies` list."""
        data = yaml.safe_load(path.read_text())
        return cls([Agency.model_validate(a) for a in data["agencies"]])

    def get(self, agency_id: str) -> Agency | None:
        """The agency with this id, if registered."""
        return self._by_id.get(agency_id)

    def all(self) -> list[Agency]:
        """Every registered agency."""
        return list(self._by_id.values())

    def hosted_by(self, service: str) -> frozenset[str]:
        """Ids of the agencies a service hosts."""
        return frozenset(a.id for a in self._by_id.values() if a.service == service)

    def receivers(self, kind: HandoffKind, excluding: Collection[str] = ()) -> list[Agency]:
        """The agencies that receive handoffs of `kind`, but those in `excluding`."""
        return [a for a in self._by_id.values() if kind in a.receives and a.id not in excluding]

    def receiver_in(self, municipality: str, kind: HandoffKind) -> Agency | None:
        """The agency in `municipality` that receives handoffs of `kind` (e.g. its KAA unit)."""
        for agency in self._by_id.values():
            if agency.municipality == municipality and kind in agency.receives:
                return agency
        return None
