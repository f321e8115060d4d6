import uuid

import pytest

from services.features.handoffs.reads import shared_with

pytestmark = [pytest.mark.unit, pytest.mark.lawful]


def row(sender, receiver, parent=None):
    return {
        "referral_id": uuid.uuid4(),
        "parent_referral_id": parent,
        "sender": sender,
        "receiver": receiver,
    }


def test_an_agency_sees_its_handoffs_and_their_redirect_chains_only():
    first = row("school", "social")
    redirected = row("social", "kaa", parent=first["referral_id"])
    onward = row("kaa", "folkhogskola", parent=redirected["referral_id"])
    unrelated = row("social", "clinic")
    rows = [first, redirected, onward, unrelated]
    assert shared_with(rows, "school") == [first, redirected, onward]
    assert shared_with(rows, "folkhogskola") == [first, redirected, onward]
    assert shared_with(rows, "social") == rows
    assert shared_with(rows, "clinic") == [unrelated]
    assert shared_with(rows, "stranger") == []
