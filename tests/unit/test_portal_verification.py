"""A chain's events are checked against the signed log as an outside auditor would: leaf hash
recomputed from the entry, inclusion proof to the signed root, signature under the log's key."""

import base64
import json
from datetime import UTC, datetime

import pytest

from services.features.proofs.heads import Signer, TreeHead, new_secret
from services.features.proofs.merkle import Entry, leaf_hash, leaf_input, node_hash, to_micros
from services.portal.verification import check_event, summarise

pytestmark = [pytest.mark.unit, pytest.mark.audit]

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def entry(seq: int, event_id: str) -> Entry:
    event = json.dumps({"event_id": event_id, "event_type": "ReferralAccepted"}).encode()
    leaf = leaf_hash(leaf_input(seq, to_micros(NOW), "handoffs", 0, seq, event))
    return Entry(seq, NOW, "handoffs", 0, seq, event, leaf, b"\0" * 32)


@pytest.fixture
def log():
    """A signed log of two entries and the proofs the audit API would give for them."""
    signer = Signer.from_secret(new_secret())
    entries = [entry(0, "e0"), entry(1, "e1")]
    head = signer.sign(TreeHead(2, node_hash(entries[0].leaf_hash, entries[1].leaf_hash), NOW))
    proofs = [
        {"seq": e.seq, "tree_size": 2, "leaf_hash": e.leaf_hash.hex(),
         "audit_path": [entries[1 - e.seq].leaf_hash.hex()], "head": head.to_json()}
        for e in entries
    ]  # fmt: skip
    return signer, [e.to_json() for e in entries], proofs


def test_events_in_the_signed_log_are_proven(log):
    signer, entries, proofs = log
    checks = [check_event(f"e{i}", proofs[i], entries[i], signer.public_key) for i in (0, 1)]
    assert all(c.ok for c in checks)
    verified = summarise(checks, proofs, key_pinned=True)
    assert verified.ok and verified.failed == 0 and verified.head.size == 2


def test_an_altered_entry_a_foreign_key_or_another_event_is_not_proven(log):
    signer, entries, proofs = log
    altered = {**entries[0], "event": entries[0]["event"].replace("Accepted", "Rejected")}
    assert not check_event("e0", proofs[0], altered, signer.public_key).ok
    other_key = Signer.from_secret(new_secret()).public_key
    assert "signed" in (check_event("e0", proofs[0], entries[0], other_key).problem or "")
    assert not check_event("e1", proofs[0], entries[0], signer.public_key).ok
    wrong_path = {**proofs[1], "audit_path": [entries[1]["leaf_hash"]]}
    assert not check_event("e1", wrong_path, entries[1], signer.public_key).ok
    checks = [check_event("e0", proofs[0], altered, signer.public_key)]
    assert not summarise(checks, proofs[:1], key_pinned=True).ok


def test_without_a_configured_key_the_heads_own_key_is_used(log):
    _, entries, proofs = log
    assert check_event("e0", proofs[0], entries[0], None).ok
    forged = {**proofs[0], "head": {**proofs[0]["head"],
              "public_key": base64.b64encode(b"\1" * 32).decode()}}  # fmt: skip
    assert not check_event("e0", forged, entries[0], None).ok
