"""The audit log's evidence: RFC 6962 Merkle tree, proofs, signed heads, verification."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from services.audit.domain import Verifier, append
from services.features.proofs.checks import Problem
from services.features.proofs.heads import SignedTreeHead, Signer, TreeHead, new_secret
from services.features.proofs.merkle import (
    EMPTY_ROOT,
    Entry,
    Frontier,
    Node,
    chain_hash,
    consistency_ranges,
    consistent,
    cover,
    from_micros,
    inclusion_ranges,
    leaf_hash,
    leaf_input,
    node_hash,
    range_hashes,
    root_from_inclusion,
    to_micros,
)

pytestmark = [pytest.mark.unit, pytest.mark.audit]

# The test vectors of RFC 6962's reference implementation (certificate-transparency).
VECTOR_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
VECTOR_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
VECTOR_CONSISTENCY = {
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, literally."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def grow(leaves: list[bytes]) -> tuple[Frontier, dict[Node, bytes]]:
    """A tree over `leaves` and every node a service would store."""
    frontier, stored = Frontier(), {}
    for i, leaf in enumerate(leaves):
        stored[Node(0, i)] = leaf
        stored.update(frontier.append(leaf))
    return frontier, stored


def test_roots_match_the_rfc_6962_test_vectors():
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT
    for leaf, root in zip(VECTOR_LEAVES, VECTOR_ROOTS, strict=True):
        frontier.append(leaf_hash(leaf))
        assert frontier.root().hex() == root


def test_proofs_match_the_rfc_6962_test_vectors():
    _, stored = grow([leaf_hash(leaf) for leaf in VECTOR_LEAVES])
    for (index, size), path in VECTOR_INCLUSION.items():
        assert [h.hex() for h in range_hashes(inclusion_ranges(index, size), stored)] == path
    for (first, second), path in VECTOR_CONSISTENCY.items():
        assert [h.hex() for h in range_hashes(consistency_ranges(first, second), stored)] == path


@pytest.mark.parametrize("size", range(1, 70))
def test_the_frontier_root_is_the_merkle_tree_hash(size):
    leaves = [leaf_hash(str(i).encode()) for i in range(size)]
    frontier, stored = grow(leaves)
    assert frontier.root() == mth(leaves)
    assert range_hashes([(0, size)], stored) == [mth(leaves)]


def test_every_inclusion_proof_leads_to_the_root_and_nothing_else_does():
    leaves = [leaf_hash(str(i).encode()) for i in range(37)]
    _, stored = grow(leaves)
    for size in range(1, len(leaves) + 1):
        root = mth(leaves[:size])
        for index in range(size):
            proof = range_hashes(inclusion_ranges(index, size), stored)
            assert root_from_inclusion(index, size, leaves[index], proof) == root
            other = leaves[(index + 1) % size]
            if size > 1:
                assert root_from_inclusion(index, size, other, proof) != root


def test_every_consistency_proof_holds_and_a_forked_tree_fails():
    leaves = [leaf_hash(str(i).encode()) for i in range(33)]
    _, stored = grow(leaves)
    for second in range(1, len(leaves) + 1):
        for first in range(1, second + 1):
            proof = range_hashes(consistency_ranges(first, second), stored)
            first_root, second_root = mth(leaves[:first]), mth(leaves[:second])
            assert consistent(first, second, first_root, second_root, proof)
            forked = mth([leaf_hash(b"forged"), *leaves[1:first]])
            assert not consistent(first, second, forked, second_root, proof)


def test_malformed_proofs_are_refused():
    leaves = [leaf_hash(str(i).encode()) for i in range(8)]
    _, stored = grow(leaves)
    proof = range_hashes(inclusion_ranges(3, 8), stored)
    with pytest.raises(ValueError, match="too short"):
        root_from_inclusion(3, 8, leaves[3], proof[:-1])
    with pytest.raises(ValueError, match="too long"):
        root_from_inclusion(3, 8, leaves[3], [*proof, leaves[0]])
    with pytest.raises(ValueError):
        inclusion_ranges(8, 8)
    assert not consistent(3, 8, mth(leaves[:3]), mth(leaves), [])


def test_cover_splits_a_range_into_aligned_perfect_subtrees():
    assert cover(0, 7) == [Node(2, 0), Node(1, 2), Node(0, 6)]
    assert cover(4, 7) == [Node(1, 2), Node(0, 6)]
    assert cover(3, 8) == [Node(0, 3), Node(2, 1)]


def test_signed_heads_verify_only_unchanged_and_with_the_right_key():
    signer = Signer.from_secret(new_secret())
    head = signer.sign(TreeHead(5, bytes(range(32)), datetime(2026, 5, 1, 12, tzinfo=UTC)))
    assert head.verify() and head.verify(signer.public_key)
    assert SignedTreeHead.from_json(head.to_json()) == head
    assert not dataclasses.replace(head, size=6).verify()
    assert not dataclasses.replace(head, root_hash=bytes(32)).verify()
    assert not head.verify(Signer.from_secret(new_secret()).public_key)


def test_a_signing_key_must_be_32_bytes_of_base64():
    with pytest.raises(ValueError, match="32 bytes"):
        Signer.from_secret("c2hvcnQ=")
    with pytest.raises(ValueError, match="base64"):
        Signer.from_secret("not base64 at all!")


def test_microseconds_round_trip_exactly():
    instant = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert from_micros(to_micros(instant)) == instant


# --- verification --------------------------------------------------------------------------

T0 = datetime(2026, 5, 1, 8, tzinfo=UTC)


def a_log(size: int) -> tuple[list[Entry], TreeHead]:
    grown = append(
        Frontier(),
        bytes(32),
        T0,
        [("samverkan.handoffs.v1", i % 3, i, b'{"n": %d}' % i) for i in range(size)],
    )
    return grown.entries, TreeHead(size, grown.frontier.root(), T0)


def rows(entries: list[Entry]) -> list[tuple[int, bytes, bytes, bytes]]:
    return [e.verification_row() for e in entries]


def verify(entries: list[Entry], head: TreeHead, heads: tuple[TreeHead, ...] = ()):
    verifier = Verifier(heads=[*heads, head])
    verifier.feed(rows(entries))
    return verifier.finish(head.size)


def test_an_untouched_log_verifies_in_batches():
    entries, head = a_log(50)
    assert entries[7].recomputed_leaf_hash() == entries[7].leaf_hash
    verifier = Verifier(heads=[head])
    for start in range(0, 50, 16):
        assert verifier.feed(rows(entries[start : start + 16]))
    assert verifier.finish(50) is None
    assert verifier.checked == 50


def test_an_edited_entry_is_named():
    entries, head = a_log(20)
    entries[11] = dataclasses.replace(entries[11], event=b'{"n": 999}')
    mismatch = verify(entries, head)
    assert mismatch is not None and (mismatch.seq, mismatch.problem) == (11, Problem.LEAF_HASH)
    verifier = Verifier(heads=[head])
    assert not verifier.feed(rows(entries)) and not verifier.feed(rows(entries))
    assert verifier.checked == 11, "entries 0..10 matched"


def test_an_entry_edited_with_a_fresh_leaf_hash_breaks_the_chain_there():
    entries, head = a_log(20)
    edited = dataclasses.replace(entries[11], event=b'{"n": 999}')
    entries[11] = dataclasses.replace(edited, leaf_hash=edited.recomputed_leaf_hash())
    mismatch = verify(entries, head)
    assert mismatch is not None and (mismatch.seq, mismatch.problem) == (11, Problem.CHAIN_HASH)


def test_a_deleted_entry_is_named_in_the_middle_and_at_the_end():
    entries, head = a_log(20)
    mismatch = verify(entries[:6] + entries[7:], head)
    assert mismatch is not None and (mismatch.seq, mismatch.problem) == (6, Problem.MISSING)
    mismatch = verify(entries[:19], head)
    assert mismatch is not None and (mismatch.seq, mismatch.problem) == (19, Problem.MISSING)


def test_reordered_entries_are_named():
    entries, head = a_log(20)
    a, b = entries[4], entries[9]
    entries[4] = dataclasses.replace(b, seq=4)
    entries[9] = dataclasses.replace(a, seq=9)
    mismatch = verify(entries, head)
    assert mismatch is not None and (mismatch.seq, mismatch.problem) == (4, Problem.LEAF_HASH)


def test_an_extra_entry_is_named():
    _, head = a_log(20)
    longer, _ = a_log(21)
    mismatch = verify(longer, head)
    assert mismatch is not None and (mismatch.seq, mismatch.problem) == (20, Problem.UNEXPECTED)


def test_a_rewritten_tail_with_fresh_hashes_fails_against_the_signed_heads():
    entries, head = a_log(20)
    checkpoint = TreeHead(8, a_log(8)[1].root_hash, T0 - timedelta(hours=1))
    forged = append(
        Frontier(),
        bytes(32),
        T0,
        [(e.topic, e.partition, e.offset, e.event) for e in entries[:12]]
        + [("samverkan.handoffs.v1", 0, 99, b'{"forged": true}')] * 8,
    ).entries
    mismatch = verify(forged, head, (checkpoint,))
    assert mismatch is not None
    assert (mismatch.seq, mismatch.problem) == (8, Problem.ROOT_HASH)
    assert "8..19" in mismatch.detail


def test_leaf_input_is_unambiguous():
    assert leaf_input(1, 2, "t", 3, 4, b"{}") == b"1\n2\nt\n3\n4\n{}"
    assert chain_hash(bytes(32), leaf_hash(b"x")) != chain_hash(leaf_hash(b"x"), bytes(32))
