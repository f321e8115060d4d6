"""How an entry can fail a check, and the check of one entry against a signed tree head
without the log: what an auditor holding an inclusion proof, the entry and the log's public key
can verify on their own (`python -m services.audit.cli verify-proof`, the portal's chains).
No I/O."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.features.proofs.heads import SignedTreeHead
from services.features.proofs.merkle import Entry, root_from_inclusion


class Problem(StrEnum):
    """How an entry can fail verification."""

    MISSING = "missing"
    UNEXPECTED = "unexpected"
    LEAF_HASH = "leaf_hash"
    CHAIN_HASH = "chain_hash"
    ROOT_HASH = "root_hash"
    HEAD_SIGNATURE = "head_signature"


@dataclass(frozen=True)
class Mismatch:
    """The first entry that does not match, and why."""

    seq: int | None
    problem: Problem
    detail: str

    def to_json(self) -> dict[str, object]:
        """As reports give it."""
        return {"seq": self.seq, "problem": self.problem.value, "detail": self.detail}


def check_inclusion(
    proof: dict[str, Any],
    public_key: bytes,
    entry: dict[str, Any] | None = None,
    kept_head: SignedTreeHead | None = None,
) -> Mismatch | None:
    """Check one entry without the log: `proof` as the API gives it, against its signed head
    or a head of the same size the auditor kept; with `entry`, its leaf hash is recomputed."""
    head = kept_head or SignedTreeHead.from_json(proof["head"])
    seq, size = int(proof["seq"]), int(proof["tree_size"])
    leaf = bytes.fromhex(proof["leaf_hash"])
    if not head.verify(public_key):
        return Mismatch(None, Problem.HEAD_SIGNATURE, "the head is not signed by the log's key")
    if size != head.size:
        return Mismatch(
            seq, Problem.ROOT_HASH, f"the proof is for {size} entries, the head {head.size}"
        )
    if entry is not None:
        parsed = Entry.from_json(entry)
        if parsed.seq != seq or parsed.recomputed_leaf_hash() != leaf:
            return Mismatch(seq, Problem.LEAF_HASH, "the entry does not match the proof's leaf")
    try:
        root = root_from_inclusion(seq, size, leaf, [bytes.fromhex(h) for h in proof["audit_path"]])
    except ValueError as exc:
        return Mismatch(seq, Problem.ROOT_HASH, str(exc))
    if root != head.root_hash:
        return Mismatch(seq, Problem.ROOT_HASH, "the proof does not lead to the signed root")
    return None
