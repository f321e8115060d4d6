"""The chaos checker against hand-made snapshots: a consistent one passes, and each kind of
damage (a service that lost an event, an effect applied twice, a state gone back, an event
missing from the audit log) is found and named."""

import uuid
from collections import Counter

import pytest

from chaos.checker import Snapshot, check
from chaos.ledger import Expected, Ledger
from contracts.lifecycle import ReferralState

pytestmark = pytest.mark.unit

SCHOOL = "ale.school.ale-gymnasium"
SOCIAL = "ale.social"
#: A referral the social services received and accepted: (event, producer, state after).
STEPS = [
    ("ReferralRequested", SCHOOL, "requested"),
    ("ReferralReceived", SOCIAL, "received"),
    ("ReferralAccepted", SOCIAL, "accepted"),
]


def consistent() -> tuple[Ledger, Snapshot, str, list[str]]:
    """A ledger and the snapshot a healthy deployment would leave behind for it."""
    rid = str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in STEPS]
    ledger = Ledger()
    ledger.opened(
        Expected(rid, "accepted", "referral", SCHOOL, SOCIAL, None, [s[0] for s in STEPS])
    )
    timeline = [
        {"rid": rid, "event_id": i, "event_type": e, "producer": p, "state_after": state}
        for i, (e, p, state) in zip(ids, STEPS, strict=True)
    ]
    snap = Snapshot()
    for service in ("school", "social", "employment"):
        handoff = {"rid": rid, "kind": "referral", "sender": SCHOOL, "receiver": SOCIAL,
                   "state": "accepted", "last_event_id": ids[-1]}  # fmt: skip
        snap.handoffs[service] = {rid: handoff}
        snap.timelines[service] = {rid: [dict(r) for r in timeline]}
        snap.notifications[service] = Counter((a, i) for i in ids for a in (SCHOOL, SOCIAL))
        snap.outboxes[service] = []
    snap.outboxes["school"] = [{"event_id": ids[0], "sent": True, "withheld": False}]
    snap.audit = [
        {"event_id": i, "event_type": e, "rid": rid, "causation": None}
        for i, (e, _, _) in zip(ids, STEPS, strict=True)
    ]
    snap.audit_types = {rid: [s[0] for s in STEPS]}
    snap.reporting_referrals = {rid}
    snap.reporting_events = {rid: [s[0] for s in STEPS[1:]]}
    return ledger, snap, rid, ids


def test_a_consistent_deployment_has_no_findings():
    ledger, snap, _, _ = consistent()
    found = check(ledger, snap)
    assert (found.lost, found.duplicated, found.backwards) == ([], [], [])
    assert found.checked_referrals == 1 and found.audit_missing == 0
    assert ledger.handoffs[next(iter(ledger.handoffs))].final_state is ReferralState.ACCEPTED


def test_an_event_a_service_never_applied_is_lost():
    ledger, snap, rid, _ = consistent()
    snap.timelines["employment"][rid].pop()
    snap.handoffs["employment"][rid]["state"] = "received"
    snap.handoffs["employment"][rid]["last_event_id"] = snap.timelines["employment"][rid][-1][
        "event_id"
    ]
    found = check(ledger, snap)
    assert found.lost_referrals == {rid}
    assert found.lost == [f"employment: {rid} lacks ['ReferralAccepted']"]


def test_an_effect_applied_twice_is_a_duplicate():
    ledger, snap, _, ids = consistent()
    snap.notifications["social"][(SOCIAL, ids[1])] += 1
    snap.audit.append(dict(snap.audit[0]))
    found = check(ledger, snap)
    assert f"social: 2 notifications to {SOCIAL} of {ids[1]}" in found.duplicated
    assert f"audit: 2 entries for {ids[0]}" in found.duplicated


def test_a_state_that_went_back_is_found():
    ledger, snap, rid, _ = consistent()
    snap.handoffs["social"][rid]["state"] = "received"
    found = check(ledger, snap)
    assert f"social: {rid} is received after a timeline ending in accepted" in found.backwards


def test_a_published_event_the_audit_log_lacks_is_counted():
    ledger, snap, _, _ = consistent()
    snap.outboxes["social"] = [{"event_id": str(uuid.uuid4()), "sent": True, "withheld": False}]
    assert check(ledger, snap).audit_missing == 1
