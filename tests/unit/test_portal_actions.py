"""Every action the state machine allows a person to take has a form, with its coded field."""

import pytest

from contracts.codes import HandoffKind
from contracts.lifecycle import ReferralState, Side, allowed_events
from services.portal.actions import ACTIONS, BY_PATH, body_of, offered

pytestmark = [pytest.mark.unit, pytest.mark.lifecycle]

# Made by the services themselves, or (the redirect) a new referral with its own form.
NOT_A_FORM = {"ReferralReceived", "ReferralExpired", "ReferralRedirected"}


def test_every_event_a_person_may_emit_has_a_form():
    for state in ReferralState:
        for side in Side:
            for kind in HandoffKind:
                allowed = set(allowed_events(state, side, kind)) - NOT_A_FORM
                assert allowed <= set(ACTIONS), (state, side, kind)
                assert {a.path for a in offered(allowed)} == {ACTIONS[e].path for e in allowed}


def test_a_received_referral_offers_accept_reject_and_cancel_in_that_order():
    allowed = allowed_events(ReferralState.RECEIVED, Side.RECEIVER, HandoffKind.REFERRAL)
    assert [a.path for a in offered(allowed)] == ["accept", "reject", "cancel"]


def test_bodies_carry_only_known_codes():
    assert body_of(BY_PATH["accept"], "ale.social", None) == {"agency": "ale.social"}
    reject = BY_PATH["reject"]
    assert body_of(reject, "ale.social", "no_capacity") == {
        "agency": "ale.social",
        "reason": "no_capacity",
    }
    assert body_of(reject, "ale.social", "free text") is None
    assert body_of(reject, "ale.social", None) is None
    assign = BY_PATH["assign"]
    assert body_of(assign, "ale.social", "anna") == {"agency": "ale.social", "caseworker": "anna"}
