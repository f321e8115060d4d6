r"""The audit log's evidence: leaves, a hash chain, a Merkle tree in the style of RFC 6962 /
RFC 9162, and its inclusion and consistency proofs. No I/O.

What is hashed, so that anyone can check it with nothing but SHA-256 and Ed25519:

- leaf input: ``b"%d\n%d\n%s\n%d\n%d\n" % (seq, recorded_us, topic, partition, offset)``
  followed by the event's bytes exactly as received from Kafka. ``recorded_us`` is when the
  audit service appended the entry, in microseconds since the Unix epoch (UTC). The five
  header fields are newline-terminated and contain no newline, so the input is unambiguous.
- leaf hash: ``SHA-256(0x00 || leaf input)``; node hash: ``SHA-256(0x01 || left || right)``;
  the tree over n leaves is RFC 6962's Merkle Tree Hash (MTH), and MTH of no leaves is
  ``SHA-256("")``.
- chain hash: ``SHA-256(previous chain hash || leaf hash)``, starting from 32 zero bytes, so
  each entry commits to every entry before it and a broken row can be named on its own.
- the tree's size and root are signed as tree heads (heads.py).
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()
GENESIS_CHAIN = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(instant: datetime) -> int:
    """Microseconds since the Unix epoch, exactly."""
    return (instant - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC instant `micros` microseconds after the Unix epoch."""
    return _EPOCH + micros * _MICROSECOND


def leaf_input(
    seq: int, recorded_us: int, topic: str, partition: int, offset: int, event: bytes
) -> bytes:
    """The bytes a leaf hash covers: where and when the entry was recorded, then the event."""
    return b"%d\n%d\n%s\n%d\n%d\n%s" % (seq, recorded_us, topic.encode(), partition, offset, event)


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return _sha256(b"\x01" + left + right).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """The chain hash of an entry: it commits to every entry before it."""
    return _sha256(previous + leaf).digest()


@dataclass(frozen=True)
class Entry:
    """One appended entry: the event as received, where from, and its hashes."""

    seq: int
    recorded_at: datetime
    topic: str
    partition: int
    offset: int
    event: bytes
    leaf_hash: bytes
    chain_hash: bytes

    def leaf_input(self) -> bytes:
        """The bytes this entry's leaf hash covers."""
        return leaf_input(
            self.seq,
            to_micros(self.recorded_at),
            self.topic,
            self.partition,
            self.offset,
            self.event,
        )

    def recomputed_leaf_hash(self) -> bytes:
        """The leaf hash this entry's content should have."""
        return leaf_hash(self.leaf_input())

    def verification_row(self) -> tuple[int, bytes, bytes, bytes]:
        """The row a Verifier checks: (seq, leaf input, stored leaf hash, stored chain hash)."""
        return self.seq, self.leaf_input(), self.leaf_hash, self.chain_hash

    def to_json(self) -> dict[str, object]:
        """The export form: every hashed field, the event as a string of its exact bytes."""
        return {
            "seq": self.seq,
            "recorded_us": to_micros(self.recorded_at),
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "event": self.event.decode(),
            "leaf_hash": self.leaf_hash.hex(),
            "chain_hash": self.chain_hash.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> "Entry":
        """Read an entry back from its export form."""
        return cls(
            seq=int(str(data["seq"])),
            recorded_at=from_micros(int(str(data["recorded_us"]))),
            topic=str(data["topic"]),
            partition=int(str(data["partition"])),
            offset=int(str(data["offset"])),
            event=str(data["event"]).encode(),
            leaf_hash=bytes.fromhex(str(data["leaf_hash"])),
            chain_hash=bytes.fromhex(str(data["chain_hash"])),
        )


# --- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A perfect subtree: leaves [idx * 2**level, (idx + 1) * 2**level)."""

    level: int
    idx: int


@dataclass
class Frontier:
    """The roots of the perfect subtrees that cover leaves [0, size), largest first.

    Enough to append leaves and to compute the root, in O(log size) space.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add a leaf; return the interior nodes it completes (level >= 1)."""
        completed: list[tuple[Node, bytes]] = []
        hashed, idx, level = leaf, self.size, 0
        while idx & 1:
            hashed = node_hash(self.hashes.pop(), hashed)
            idx, level = idx >> 1, level + 1
            completed.append((Node(level, idx), hashed))
        self.hashes.append(hashed)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the leaves so far."""
        return fold(self.hashes)


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of consecutive perfect subtrees given largest first (RFC 6962 splits them so)."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def cover(start: int, end: int) -> list[Node]:
    """The perfect subtrees that make up leaves [start, end), left to right.

    For the ranges that RFC 6962's recursion produces (start aligned to a power of two at
    least end - start) they come largest first, and `fold` of their hashes is MTH(D[start:end]).
    """
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append(Node(level, start >> level))
        start += 1 << level
    return nodes


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 PATH(index, D[0:size]) as leaf ranges, from the leaf's sibling up."""
    if not 0 <= index < size:
        raise ValueError(f"entry {index} is not in a tree of {size} entries")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return list(reversed(ranges))


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """RFC 9162 PROOF(first, D[0:second]) as leaf ranges, in proof order."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} entries")
    ranges: list[tuple[int, int]] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append((start, end))
    return list(reversed(ranges))


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    """Every stored perfect subtree needed to hash `ranges`."""
    return {node for start, end in ranges for node in cover(start, end)}


def range_hashes(ranges: Iterable[tuple[int, int]], stored: dict[Node, bytes]) -> list[bytes]:
    """MTH of each range, from the stored perfect subtrees."""
    return [fold([stored[n] for n in cover(start, end)]) for start, end in ranges]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2); ValueError if malformed."""
    if not 0 <= index < size:
        raise ValueError(f"entry {index} is not in a tree of {size} entries")
    fn, sn, root = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ValueError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            root = node_hash(sibling, root)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            root = node_hash(root, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("inclusion proof is too short")
    return root


def consistent(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree of `second` entries extends the one of `first` (RFC 9162
    2.1.4.2)."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is itself a node of the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
