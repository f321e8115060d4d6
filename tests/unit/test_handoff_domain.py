import uuid
from datetime import timedelta

import pytest

from contracts import utc_now
from contracts.events import (
    CaseworkerAssigned,
    ConcernAcknowledged,
    ConcernReported,
    FirstContactMade,
    ReferralAccepted,
    ReferralCompleted,
    ReferralReceived,
    ReferralRejected,
    ReferralRequested,
)
from contracts.lifecycle import ReferralState
from services.features.handoffs.domain import HandoffRefused, advance, next_event, open_handoff
from tests.factories import sample

pytestmark = [pytest.mark.unit, pytest.mark.lifecycle]
SCHOOL, SOCIAL = "ale.school.ale-gymnasium", "ale.social"


def opened(model=ReferralRequested, **fields):
    event = sample(model, producer=SCHOOL, receiver=SOCIAL, **fields)
    return open_handoff(event), event


def step(handoff, model, producer=SOCIAL, **fields):
    return advance(handoff, next_event(handoff, model, producer, utc_now(), **fields))


def test_an_opening_event_starts_a_requested_handoff_between_its_parties():
    handoff, event = opened(parent_referral_id=uuid.uuid4())
    assert handoff.state is ReferralState.REQUESTED
    assert (handoff.sender, handoff.receiver) == (SCHOOL, SOCIAL)
    assert handoff.referral_id == event.correlation_id
    assert handoff.parent_referral_id == event.parent_referral_id


def test_follow_up_events_are_caused_by_the_latest_event_and_keep_the_basis():
    handoff, event = opened()
    received = next_event(handoff, ReferralReceived, SOCIAL, utc_now())
    assert received.causation_id == event.event_id
    assert received.legal_basis == event.legal_basis
    assert received.correlation_id == handoff.referral_id


def test_the_receiver_walks_the_loop_and_codes_are_kept():
    handoff, _ = opened()
    handoff = step(handoff, ReferralReceived)
    handoff = step(handoff, ReferralAccepted)
    handoff = step(handoff, CaseworkerAssigned, caseworker="anna.lind")
    handoff = step(handoff, FirstContactMade, channel="phone")
    handoff = step(handoff, ReferralCompleted, outcome="returned_to_studies")
    assert handoff.state is ReferralState.COMPLETED
    assert handoff.caseworker == "anna.lind"
    assert handoff.outcome == "returned_to_studies"


def test_a_rejection_keeps_its_reason():
    handoff, _ = opened()
    handoff = step(handoff, ReferralRejected, reason="no_capacity")
    assert (handoff.state, handoff.outcome) == (ReferralState.REJECTED, "no_capacity")


def test_the_sender_cannot_accept_its_own_referral():
    handoff, _ = opened()
    with pytest.raises(HandoffRefused) as err:
        step(handoff, ReferralAccepted, producer=SCHOOL)
    assert err.value.code == "illegal_transition"
    assert err.value.context["current_state"] == "requested"
    assert "ReferralCancelled" in err.value.context["allowed"]


def test_a_third_agency_cannot_move_a_handoff():
    handoff, _ = opened()
    with pytest.raises(HandoffRefused) as err:
        step(handoff, ReferralAccepted, producer="goteborg.kaa")
    assert err.value.code == "not_a_party"


def test_a_late_event_does_not_move_the_handoff_back():
    handoff, _ = opened()
    accepted = step(step(handoff, ReferralReceived), ReferralAccepted)
    with pytest.raises(HandoffRefused):
        step(accepted, ReferralReceived)


def test_a_concern_report_is_acknowledged_not_accepted():
    handoff, _ = opened(ConcernReported, respond_by=utc_now() + timedelta(days=1))
    with pytest.raises(HandoffRefused):
        step(handoff, ReferralRejected, reason="no_capacity")
    assert step(handoff, ConcernAcknowledged).state is ReferralState.ACCEPTED
