"""Referral chains for auditors: linked by redirects, causal order, states, readable tree."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import ConsentBasis, Event, encode
from contracts.events import (
    FirstContactMade,
    ReferralAccepted,
    ReferralCompleted,
    ReferralReceived,
    ReferralRedirected,
    ReferralRejected,
    ReferralRequested,
)
from services.audit.chains import Recorded, assemble, chain_of, parties, render

pytestmark = [pytest.mark.unit, pytest.mark.audit]

SUBJECT = "7" * 64
SCHOOL, SOCIAL, AF = "ale.school.ale-gymnasium", "ale.social", "af.goteborg"
T0 = datetime(2026, 5, 1, 8, tzinfo=UTC)


class Story:
    """Events of a referral story, each caused by the one before on its referral."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.clock = T0
        self.basis = ConsentBasis(consent_id=uuid.uuid4())

    def add(self, model: type[Event], referral: uuid.UUID, producer: str, **fields) -> Event:
        self.clock += timedelta(minutes=1)
        last = next((e for e in reversed(self.events) if e.correlation_id == referral), None)
        event = model(
            event_id=uuid.uuid4(),
            occurred_at=self.clock,
            producer=producer,
            correlation_id=referral,
            causation_id=fields.pop("causation_id", last.event_id if last else None),
            subject=SUBJECT,
            legal_basis=self.basis,
            **fields,
        )
        self.events.append(event)
        return event


def opening(**extra):
    return {
        "respond_by": T0 + timedelta(days=14),
        "reason": "absence",
        "data_categories": ("attendance",),
        **extra,
    }


@pytest.fixture
def redirected():
    """School refers to social services, who reject and redirect to employment, who complete."""
    story, first, second = Story(), uuid.uuid4(), uuid.uuid4()
    story.add(ReferralRequested, first, SCHOOL, receiver=SOCIAL, **opening())
    story.add(ReferralReceived, first, SOCIAL)
    story.add(ReferralRejected, first, SOCIAL, reason="no_capacity")
    story.add(ReferralRedirected, first, SOCIAL, new_referral_id=second, new_receiver=AF)
    story.add(
        ReferralRequested,
        second,
        SOCIAL,
        causation_id=None,  # a redirect opens the new referral without a causation id
        receiver=AF,
        **opening(reason="employment_support", parent_referral_id=first),
    )
    story.add(ReferralReceived, second, AF)
    story.add(ReferralAccepted, second, AF)
    story.add(FirstContactMade, second, AF, channel="phone")
    story.add(ReferralCompleted, second, AF, outcome="returned_to_studies")
    return story, first, second


def recorded(events: list[Event], order: list[int]) -> list[Recorded]:
    """The events as the audit log would hold them, appended in `order`."""
    return [
        Recorded.of(seq, T0 + timedelta(hours=1, seconds=seq), encode(events[i]))
        for seq, i in enumerate(order)
    ]


def test_a_redirected_referral_comes_back_as_one_chain_in_causal_order(redirected):
    story, first, second = redirected
    # The child's opening reached the log before the redirect (another partition) and a
    # receipt before its request: the chain still puts every cause first.
    records = recorded(story.events, [4, 0, 2, 1, 3, 5, 7, 6, 8])
    chains = assemble(records)
    assert len(chains) == 1
    chain = chains[0]
    assert chain.root_referral_id == str(first)
    assert [e.event_type for e in chain.events] == [type(e).__name__ for e in story.events]
    parent, child = chain.referrals
    assert (parent.referral_id, parent.children, parent.state) == (
        str(first),
        [str(second)],
        "rejected",
    )
    assert (child.referral_id, child.parent_referral_id, child.state) == (
        str(second),
        str(first),
        "completed",
    )
    assert (child.sender, child.receiver, child.kind) == (SOCIAL, AF, "referral")
    by_type = {(e.referral_id, e.event_type): e for e in chain.events}
    redirect = by_type[(str(first), "ReferralRedirected")]
    assert by_type[(str(second), "ReferralRequested")].caused_by_seq == redirect.seq
    assert redirect.details["new_receiver"] == AF
    assert [e.state for e in chain.events if e.referral_id == str(second)] == [
        "requested",
        "received",
        "accepted",
        "in_progress",
        "completed",
    ]
    assert chain_of(second, chains) is chain


def test_a_late_event_shows_that_it_changed_nothing(redirected):
    story, first, _ = redirected
    late = story.add(ReferralAccepted, first, SOCIAL)
    chain = assemble(recorded(story.events, list(range(len(story.events)))))[0]
    shown = next(e for e in chain.events if e.event_id == str(late.event_id))
    assert (shown.state, shown.changed_state) == ("rejected", False)


def test_unlinked_referrals_are_separate_chains_oldest_first(redirected):
    story, first, _ = redirected
    other = uuid.uuid4()
    story.add(ReferralRequested, other, SCHOOL, receiver="ale.kaa", **opening())
    chains = assemble(recorded(story.events, list(range(len(story.events)))))
    assert [c.root_referral_id for c in chains] == [str(first), str(other)]


def test_the_readable_tree_nests_the_redirect_under_its_parent(redirected):
    story, first, second = redirected
    text = render(assemble(recorded(story.events, list(range(len(story.events)))))[0])
    lines = text.splitlines()
    assert lines[0].startswith(
        f"referral {first}: {SCHOOL} -> {SOCIAL}, now rejected, basis consent"
    )
    child = next(i for i, line in enumerate(lines) if line.strip().startswith(f"referral {second}"))
    assert lines[child].startswith("    ") and f"redirected from {first}" in lines[child]
    assert "ReferralRedirected by ale.social (state unchanged) caused by #2" in text
    assert "ReferralCompleted by af.goteborg -> completed caused by #7" in text


def test_the_parties_of_an_event_are_its_producer_and_receivers():
    event = {"producer": SOCIAL, "new_receiver": AF, "receiver": None}
    assert parties(event) == {SOCIAL, AF}
