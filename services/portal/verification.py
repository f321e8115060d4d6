"""Whether a referral chain is what the audit log holds, checked as an outside auditor would.

For each event of the chain the portal fetches the entry and its inclusion proof from the audit
service's API, and checks them with the same code as `python -m services.audit.cli
verify-proof` (`services.features.proofs`): the entry's leaf hash is recomputed from its
bytes, the proof must lead from it to the root of a signed tree head, and the head's Ed25519
signature must hold under the log's key. The entry must also be the event the chain shows.
No I/O here.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.features.proofs.checks import check_inclusion
from services.features.proofs.heads import SignedTreeHead, decode_public_key


@dataclass(frozen=True)
class EventCheck:
    """The outcome for one event of a chain: None as problem means proven."""

    seq: int
    problem: str | None

    @property
    def ok(self) -> bool:
        """Whether the event is proven to be in the signed log as shown."""
        return self.problem is None


@dataclass(frozen=True)
class ChainVerification:
    """The outcome for a whole chain, and the newest signed head it was checked against."""

    checks: Mapping[int, EventCheck]
    head: SignedTreeHead | None
    key_pinned: bool

    @property
    def ok(self) -> bool:
        """Whether every event of the chain is proven."""
        return bool(self.checks) and all(c.ok for c in self.checks.values())

    @property
    def failed(self) -> int:
        """How many events are not proven."""
        return sum(not c.ok for c in self.checks.values())


def check_event(
    event_id: str,
    proof: Mapping[str, Any],
    entry: Mapping[str, Any],
    trusted_key: bytes | None,
) -> EventCheck:
    """Check one chain event against its entry and inclusion proof (as the API gives them).

    Without a trusted key the key the proof's head names is used: that still shows the log
    has not been altered since it was signed, but not by whom it was signed.
    """
    seq = int(proof["seq"])
    key = trusted_key or decode_public_key(str(proof["head"]["public_key"]))
    mismatch = check_inclusion(dict(proof), key, dict(entry))
    if mismatch is not None:
        return EventCheck(seq, mismatch.detail)
    if str(json.loads(str(entry["event"])).get("event_id")) != event_id:
        return EventCheck(seq, "the entry holds another event than the chain shows")
    return EventCheck(seq, None)


def summarise(
    checks: Sequence[EventCheck], proofs: Sequence[Mapping[str, Any]], key_pinned: bool
) -> ChainVerification:
    """The chain's outcome; the head shown is the newest one the proofs were made against."""
    heads = [SignedTreeHead.from_json(dict(p["head"])) for p in proofs]
    newest = max(heads, key=lambda h: h.size, default=None)
    return ChainVerification({c.seq: c for c in checks}, newest, key_pinned)
