import pytest

from contracts.codes import HandoffKind
from contracts.lifecycle import (
    FINAL_STATES,
    TRANSITIONS,
    ReferralState,
    Side,
    allowed_events,
    find_transition,
)

pytestmark = [pytest.mark.unit, pytest.mark.contracts]
S = ReferralState
R, SND = Side.RECEIVER, Side.SENDER
REF = HandoffKind.REFERRAL


def walk(kind, steps, start=S.REQUESTED):
    state = start
    for event_type, side in steps:
        t = find_transition(event_type, state, side, kind)
        assert t is not None, f"{event_type} by {side} not allowed from {state}"
        state = t.target or state
    return state


def test_the_closed_loop_reaches_completed():
    steps = [
        ("ReferralReceived", R),
        ("ReferralAccepted", R),
        ("CaseworkerAssigned", R),
        ("ContactAttempted", R),
        ("FirstContactMade", R),
        ("ReferralPaused", R),
        ("ReferralResumed", R),
        ("ReferralCompleted", R),
    ]
    assert walk(REF, steps) is S.COMPLETED


def test_only_the_sender_cancels_before_answer_and_marks_entered_in_error():
    assert find_transition("ReferralEnteredInError", S.COMPLETED, SND, REF) is not None
    assert find_transition("ReferralEnteredInError", S.COMPLETED, R, REF) is None
    assert find_transition("ReferralAccepted", S.RECEIVED, SND, REF) is None


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_nothing_but_entered_in_error_leaves_a_final_state(state):
    leaving = {
        t.event_type for t in TRANSITIONS if state in t.sources and t.target not in (None, state)
    }
    assert leaving <= {"ReferralEnteredInError"}


def test_late_and_duplicate_events_do_not_move_backwards():
    # A late 'received' after acceptance, or a second acceptance, is not a transition.
    assert find_transition("ReferralReceived", S.ACCEPTED, R, REF) is None
    assert find_transition("ReferralAccepted", S.IN_PROGRESS, R, REF) is None
    assert find_transition("FirstContactMade", S.COMPLETED, R, REF) is None


def test_a_concern_report_cannot_be_rejected_but_is_acknowledged():
    kind = HandoffKind.CONCERN_REPORT
    assert find_transition("ReferralRejected", S.RECEIVED, R, kind) is None
    assert find_transition("ConcernAcknowledged", S.RECEIVED, R, kind).target is S.ACCEPTED
    assert find_transition("ConcernAcknowledged", S.RECEIVED, R, REF) is None


def test_expiry_applies_only_while_unanswered():
    assert find_transition("ReferralExpired", S.RECEIVED, SND, REF).target is S.EXPIRED
    assert find_transition("ReferralExpired", S.ACCEPTED, SND, REF) is None


def test_redirect_is_recorded_only_after_rejection_or_failure():
    assert find_transition("ReferralRedirected", S.REJECTED, R, REF).target is None
    assert find_transition("ReferralRedirected", S.IN_PROGRESS, R, REF) is None


def test_allowed_events_is_what_a_receiver_can_do_next():
    assert allowed_events(S.RECEIVED, R, REF) == [
        "ReferralAccepted",
        "ReferralCancelled",
        "ReferralRejected",
    ]
    assert "ReferralCancelled" in allowed_events(S.REQUESTED, SND, REF)
