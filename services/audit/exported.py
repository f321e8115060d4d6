"""The exported log and how an external auditor checks it, with nothing but the export, the
log's public key and any heads they kept. No I/O.

An export is JSON lines: first ``{"head": <signed tree head>}``, then one ``{"entry": ...}`` per
entry in seq order, each with every field its leaf hash covers (see
`services.features.proofs.merkle`). One entry is checked on its own, with its inclusion proof,
by `services.features.proofs.checks.check_inclusion`.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.audit.domain import Verifier
from services.features.proofs.checks import Mismatch, Problem
from services.features.proofs.heads import SignedTreeHead
from services.features.proofs.merkle import Entry

_BATCH = 10_000


def head_line(head: SignedTreeHead) -> str:
    """The first line of an export."""
    return json.dumps({"head": head.to_json()}) + "\n"


def entry_line(entry: Entry) -> str:
    """The line of one entry."""
    return json.dumps({"entry": entry.to_json()}) + "\n"


@dataclass(frozen=True)
class ExportCheck:
    """What checking an export found."""

    head: SignedTreeHead | None
    checked: int
    mismatch: Mismatch | None

    def to_json(self) -> dict[str, object]:
        """The report the command line prints."""
        return {
            "ok": self.mismatch is None,
            "checked": self.checked,
            "head": self.head.to_json() if self.head else None,
            "first_mismatch": self.mismatch.to_json() if self.mismatch else None,
        }


def check_export(
    lines: Iterable[str], public_key: bytes, kept_heads: Sequence[SignedTreeHead] = ()
) -> ExportCheck:
    """Verify an export against the log's `public_key` and the heads an auditor kept.

    Every head must be signed by that key; the entries must hash to each head's root at its
    size; the first entry that does not match is named.
    """
    lines = iter(lines)
    first = json.loads(next(lines, "{}") or "{}")
    if "head" not in first:
        return ExportCheck(None, 0, Mismatch(None, Problem.MISSING, "no signed head first"))
    head = SignedTreeHead.from_json(first["head"])
    for signed in (head, *kept_heads):
        if not signed.verify(public_key):
            return ExportCheck(
                head,
                0,
                Mismatch(None, Problem.HEAD_SIGNATURE, f"the head of {signed.size} is not signed"),
            )
    beyond = [h.size for h in kept_heads if h.size > head.size]
    if beyond:
        detail = f"a kept head covers {max(beyond)} entries, the export only {head.size}"
        return ExportCheck(head, 0, Mismatch(head.size, Problem.MISSING, detail))
    verifier = Verifier(heads=[head, *kept_heads])
    batch: list[tuple[int, bytes, bytes, bytes]] = []
    for line in lines:
        if line.strip():
            batch.append(Entry.from_json(json.loads(line)["entry"]).verification_row())
        if len(batch) >= _BATCH:
            verifier.feed(batch)
            batch = []
    verifier.feed(batch)
    return ExportCheck(head, verifier.checked, verifier.finish(head.size))
