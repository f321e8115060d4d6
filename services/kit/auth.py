"""Who is calling, and what they may do.

Principals come from configuration: each has an id, a role (agency system, caseworker,
auditor), the agency it acts for, and the SHA-256 of its API key. The repository ships no key;
`make run` and the tests generate their own. Agency systems and caseworkers act only for their
own agency; auditors only read, their own agency's records or, with `all_agencies`, everyone's.
"""

import hashlib
from pathlib import Path

import yaml
from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.codes import AccessPurpose, PrincipalRole
from contracts.envelope import AgencyId, StaffId
from services.kit.provided import provided_in


class Principal(BaseModel):
    """An authenticated caller."""

    model_config = ConfigDict(frozen=True)

    id: StaffId
    role: PrincipalRole
    agency: AgencyId
    all_agencies: bool = Field(default=False, description="Auditors only: read every agency.")

    @model_validator(mode="after")
    def _only_auditors_see_all(self) -> "Principal":
        if self.all_agencies and self.role is not PrincipalRole.AUDITOR:
            raise ValueError("only auditors may read all agencies")
        return self

    @property
    def default_purpose(self) -> AccessPurpose:
        """Why this principal reads, unless it says otherwise."""
        return {
            PrincipalRole.AUDITOR: AccessPurpose.AUDIT,
            PrincipalRole.AGENCY_SYSTEM: AccessPurpose.SYSTEM_INTEGRATION,
        }.get(self.role, AccessPurpose.CASEWORK)

    def may_read(self, agency: str) -> bool:
        """Whether this principal may read `agency`'s records."""
        return self.agency == agency or self.all_agencies

    def may_act_for(self, agency: str) -> bool:
        """Whether this principal may change things on behalf of `agency`."""
        return self.role is not PrincipalRole.AUDITOR and self.agency == agency


class PrincipalEntry(Principal):
    """A principal as configured: with the hash of its key, never the key."""

    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


def key_hash(key: str) -> str:
    """The SHA-256 of an API key, as stored in configuration."""
    return hashlib.sha256(key.encode()).hexdigest()


class Principals:
    """The configured principals, looked up by the hash of the presented key."""

    def __init__(self, entries: list[PrincipalEntry]) -> None:
        self._by_hash = {
            e.key_sha256: Principal.model_validate(e.model_dump(exclude={"key_sha256"}))
            for e in entries
        }

    @classmethod
    def load(cls, path: Path | None) -> "Principals":
        """Read principals from YAML (`principals:` list); refuse to run without any."""
        if path is None or not path.exists():
            raise RuntimeError(
                "no principals configured (SAMVERKAN_PRINCIPALS_FILE): will not serve an open API"
            )
        data = yaml.safe_load(path.read_text()) or {}
        entries = [PrincipalEntry.model_validate(p) for p in data.get("principals", [])]
        if not entries:
            raise RuntimeError(f"{path} lists no principals")
        return cls(entries)

    def find(self, key: str) -> Principal | None:
        """The principal holding `key`, if any."""
        return self._by_hash.get(key_hash(key))


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from `Authorization: Bearer <key>`, or 401.

    Async although it never awaits: FastAPI runs a plain function dependency in a worker
    thread, a hand-off that costs more than the lookup itself.
    """
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    principals = provided_in(request.app, Principals)
    principal = principals.find(key.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        raise HTTPException(
            401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def require_read(principal: Principal, agency: str) -> None:
    """403 unless `principal` may read `agency`'s records."""
    if not principal.may_read(agency):
        raise HTTPException(403, f"{principal.id} may not read records of {agency}")


def require_act(principal: Principal, agency: str) -> None:
    """403 unless `principal` may act for `agency` (auditors never may)."""
    if not principal.may_act_for(agency):
        raise HTTPException(
            403, f"{principal.id} ({principal.role.value}) may not act for {agency}"
        )
