"""What the audit API answers: signed heads, entries, proofs, verification reports, reads."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.audit.chains import Recorded
from services.audit.service import InclusionProof, Verification
from services.features.proofs.heads import SignedTreeHead
from services.features.proofs.merkle import Entry


class HeadView(BaseModel):
    """A signed tree head: the log's size and Merkle root, signed with Ed25519."""

    size: int
    root_hash: str = Field(description="Hex SHA-256 Merkle Tree Hash (RFC 6962) of the log.")
    timestamp: datetime
    signature: str = Field(
        description="Base64 Ed25519 signature (see services/features/proofs/heads.py)."
    )
    public_key: str = Field(description="Base64 raw Ed25519 public key of the log.")
    algorithm: Literal["Ed25519"] = "Ed25519"

    @classmethod
    def of(cls, head: SignedTreeHead) -> "HeadView":
        """The published form of a head."""
        return cls.model_validate(head.to_json())


class EntryView(BaseModel):
    """One entry, with every field its leaf hash covers; `event` holds its exact bytes."""

    seq: int
    recorded_at: datetime
    recorded_us: int
    topic: str
    partition: int
    offset: int
    event: str
    leaf_hash: str
    chain_hash: str

    @classmethod
    def of(cls, entry: Entry) -> "EntryView":
        """The view of a stored entry."""
        return cls.model_validate({**entry.to_json(), "recorded_at": entry.recorded_at})


class InclusionProofView(BaseModel):
    """RFC 9162 inclusion proof of one entry in the tree of `tree_size` entries."""

    seq: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str] = Field(description="Hex sibling hashes, from the leaf upwards.")
    root_hash: str
    head: HeadView = Field(description="The signed head current when the proof was made.")

    @classmethod
    def of(cls, proof: InclusionProof) -> "InclusionProofView":
        """The view of a proof."""
        return cls(
            seq=proof.seq,
            tree_size=proof.size,
            leaf_hash=proof.leaf_hash.hex(),
            audit_path=[h.hex() for h in proof.proof],
            root_hash=proof.root_hash.hex(),
            head=HeadView.of(proof.head),
        )


class ConsistencyProofView(BaseModel):
    """RFC 9162 proof that the tree of `second` entries extends the tree of `first`."""

    first: int
    second: int
    proof: list[str]


class MismatchView(BaseModel):
    """The first entry that does not match."""

    seq: int | None
    problem: str
    detail: str


class VerificationView(BaseModel):
    """Outcome of verifying the log or a range of it."""

    ok: bool
    start: int
    end: int
    checked: int
    head: HeadView | None
    first_mismatch: MismatchView | None

    @classmethod
    def of(cls, verification: Verification) -> "VerificationView":
        """The view of a verification."""
        return cls.model_validate(verification.to_json())


class ReadView(BaseModel):
    """One read of a person's record (RecordAccessed), as the audit log received it."""

    seq: int
    recorded_at: datetime
    occurred_at: datetime
    agency: str
    accessor: str
    accessor_role: str
    resource: str
    resource_id: str | None
    record_id: str
    purpose: str
    subject: str
    legal_basis: dict[str, Any]
    event_id: str

    @classmethod
    def of(cls, read: Recorded) -> "ReadView":
        """The view of a RecordAccessed entry."""
        event = read.event
        return cls(
            seq=read.seq,
            recorded_at=read.recorded_at,
            occurred_at=event["occurred_at"],
            agency=event["producer"],
            accessor=event["accessor"],
            accessor_role=event["accessor_role"],
            resource=event["resource"],
            resource_id=event.get("resource_id"),
            record_id=event["correlation_id"],
            purpose=event["purpose"],
            subject=event["subject"],
            legal_basis=event["legal_basis"],
            event_id=event["event_id"],
        )
