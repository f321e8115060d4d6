r"""Appending to the audit log and verifying it: the entries an append makes, and streaming
verification of stored entries against their hashes and signed heads. No I/O.

What is hashed, and the tree and proofs over it, are in `services.features.proofs.merkle`;
signed tree heads in `services.features.proofs.heads`.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.features.proofs.checks import Mismatch, Problem
from services.features.proofs.heads import TreeHead
from services.features.proofs.merkle import (
    GENESIS_CHAIN,
    Entry,
    Frontier,
    Node,
    chain_hash,
    fold,
    leaf_hash,
    leaf_input,
    to_micros,
)

_sha256 = hashlib.sha256


@dataclass(frozen=True)
class Received:
    """An event as it arrived: its exact bytes and where in the log of topics they were."""

    topic: str
    partition: int
    offset: int
    value: bytes


@dataclass(frozen=True)
class Appended:
    """What appending some entries produced: the entries, the new nodes, the new head state."""

    entries: list[Entry]
    nodes: list[tuple[Node, bytes]]
    frontier: Frontier
    chain_hash: bytes


def append(
    frontier: Frontier,
    last_chain: bytes,
    recorded_at: datetime,
    received: Iterable[tuple[str, int, int, bytes]],
) -> Appended:
    """Append (topic, partition, offset, event bytes) records after a log in state
    (`frontier`, `last_chain`)."""
    grown = Frontier(frontier.size, list(frontier.hashes))
    recorded_us = to_micros(recorded_at)
    entries: list[Entry] = []
    nodes: list[tuple[Node, bytes]] = []
    chain = last_chain
    for topic, partition, offset, event in received:
        seq = grown.size
        leaf = leaf_hash(leaf_input(seq, recorded_us, topic, partition, offset, event))
        chain = chain_hash(chain, leaf)
        entries.append(Entry(seq, recorded_at, topic, partition, offset, event, leaf, chain))
        nodes.extend(grown.append(leaf))
    return Appended(entries, nodes, grown, chain)


@dataclass
class Verifier:
    """Checks entries in seq order, as they stream past: continuity, leaf and chain hashes,
    and, when started at the first entry, the tree root at every given head.

    Feed it batches of rows (seq, leaf input, leaf hash, chain hash), the leaf input being
    `leaf_input` of the stored fields (`Entry.verification_row`); it stops at the first
    mismatch. It hashes every leaf input itself, so a row whose fields were changed after
    appending shows as a leaf hash mismatch.
    """

    next_seq: int = 0
    previous_chain: bytes = GENESIS_CHAIN
    heads: Sequence[TreeHead] = ()
    frontier: Frontier | None = None
    mismatch: Mismatch | None = None
    _checkpoints: dict[int, TreeHead] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if self.next_seq == 0 and self.frontier is None:
            self.frontier = Frontier()
        self._checkpoints = {h.size: h for h in self.heads if h.size > self.next_seq}

    def feed(self, rows: Iterable[Sequence[Any]]) -> bool:
        """Check `rows`; False once a mismatch has been found."""
        if self.mismatch is not None:
            return False
        sha256, checkpoints = _sha256, self._checkpoints
        expected, chain = self.next_seq, self.previous_chain
        stack = self.frontier.hashes if self.frontier is not None else None
        for seq, data, stored_leaf, stored_chain in rows:
            if seq != expected:
                return self._fail(self._gap(expected, seq), expected)
            leaf = sha256(b"\x00" + data).digest()
            if leaf != stored_leaf:
                mismatch = Mismatch(seq, Problem.LEAF_HASH, "content does not match its leaf hash")
                return self._fail(mismatch, expected)
            chain = sha256(chain + leaf).digest()
            if chain != stored_chain:
                detail = "does not follow from the entry before it"
                return self._fail(Mismatch(seq, Problem.CHAIN_HASH, detail), expected)
            expected += 1
            if stack is not None:
                # Frontier.append, inlined: this loop is the verifier's hot path.
                node, index = leaf, seq
                while index & 1:
                    node = sha256(b"\x01" + stack.pop() + node).digest()
                    index >>= 1
                stack.append(node)
                if expected in checkpoints and fold(stack) != checkpoints[expected].root_hash:
                    return self._fail(self._root_mismatch(checkpoints[expected]), expected)
        self.next_seq, self.previous_chain = expected, chain
        if self.frontier is not None:
            self.frontier.size = expected
        return True

    def finish(self, size: int) -> Mismatch | None:
        """The first mismatch, once every row up to the head's `size` has been fed."""
        if self.mismatch is None and self.next_seq < size:
            self.mismatch = Mismatch(
                self.next_seq, Problem.MISSING, f"the head covers {size} entries; this one is gone"
            )
        elif self.mismatch is None and self.next_seq > size:
            self.mismatch = Mismatch(
                size, Problem.UNEXPECTED, f"the head covers only {size} entries; this one is extra"
            )
        return self.mismatch

    @property
    def checked(self) -> int:
        """How many entries were checked and found in order."""
        return self.next_seq

    def _fail(self, mismatch: Mismatch, checked_up_to: int) -> bool:
        self.mismatch, self.next_seq = mismatch, checked_up_to
        return False

    @staticmethod
    def _gap(expected: int, found: int) -> Mismatch:
        if found > expected:
            return Mismatch(expected, Problem.MISSING, f"the next entry stored is {found}")
        return Mismatch(found, Problem.UNEXPECTED, f"entry {found} appears again after {expected}")

    def _root_mismatch(self, head: TreeHead) -> Mismatch:
        earlier = [size for size in self._checkpoints if size < head.size]
        since = max(earlier, default=0)
        return Mismatch(
            since,
            Problem.ROOT_HASH,
            f"entries {since}..{head.size - 1} were rewritten: the first {head.size} do not"
            f" hash to the root signed at {head.timestamp.isoformat()}",
        )
