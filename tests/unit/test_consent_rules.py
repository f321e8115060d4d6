import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import ConsentBasis, DisclosureBasis, DutyBasis, LegalDuty
from contracts.envelope import DisclosureProvision
from contracts.events import ConcernReported, DropoutReported, RecordAccessed, ReferralRequested
from services.features.consent.domain import Consent, basis_problems
from tests.factories import SUBJECT, sample

pytestmark = [pytest.mark.unit, pytest.mark.lawful]
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SOCIAL, KAA = "ale.social", "goteborg.kaa"


def consent(**changes):
    base = dict(
        consent_id=uuid.uuid4(), subject=SUBJECT, recorded_by="ale.school.ale-gymnasium",
        given_by="subject", method="written", recipients=(SOCIAL,),
        data_categories=("attendance", "grades"), valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=30), recorded_at=NOW - timedelta(days=1),
    )  # fmt: skip
    return Consent(**(base | changes))


def referral(given: Consent, **changes):
    fields = dict(
        receiver=SOCIAL, subject=SUBJECT, occurred_at=NOW, data_categories=("attendance",),
        legal_basis=ConsentBasis(consent_id=given.consent_id),
    )  # fmt: skip
    return sample(ReferralRequested, **(fields | changes))


def test_a_valid_consent_covers_the_referral():
    given = consent()
    assert basis_problems(referral(given), given) == []


@pytest.mark.parametrize(
    ("consent_changes", "referral_changes", "problem"),
    [
        ({}, {"receiver": KAA}, "consent does not cover recipient goteborg.kaa"),
        (
            {},
            {"data_categories": ("attendance", "health")},
            "consent does not cover data categories health",
        ),
        ({"valid_until": NOW - timedelta(minutes=1)}, {}, "consent has expired"),
        ({"valid_from": NOW + timedelta(days=1)}, {}, "consent is not yet valid"),
        ({"withdrawn_at": NOW - timedelta(minutes=1)}, {}, "consent was withdrawn"),
        ({"subject": "a" * 64}, {}, "consent is for another subject"),
    ],
)
def test_what_the_consent_does_not_cover_is_named(consent_changes, referral_changes, problem):
    given = consent(**consent_changes)
    assert basis_problems(referral(given, **referral_changes), given) == [problem]


def test_a_missing_consent_is_named():
    given = consent()
    assert basis_problems(referral(given), None) == [f"no consent {given.consent_id} is recorded"]


def test_a_withdrawal_after_the_event_does_not_make_it_unlawful_in_hindsight():
    given = consent(withdrawn_at=NOW + timedelta(minutes=1))
    assert basis_problems(referral(given), given) == []


def test_duty_bases_apply_to_their_own_reports_only():
    concern = DutyBasis(duty=LegalDuty.CONCERN_REPORT)
    kaa = DutyBasis(duty=LegalDuty.KAA_NOTIFICATION)
    assert (
        basis_problems(sample(ConcernReported, legal_basis=concern, subject_is_child=True), None)
        == []
    )
    assert basis_problems(
        sample(ConcernReported, legal_basis=concern, subject_is_child=False), None
    )
    assert basis_problems(sample(DropoutReported, legal_basis=kaa, under_20=True), None) == []
    assert basis_problems(sample(DropoutReported, legal_basis=kaa, under_20=False), None)
    assert basis_problems(sample(ReferralRequested, legal_basis=kaa), None)
    log_review = DutyBasis(duty=LegalDuty.LOG_REVIEW)
    assert basis_problems(sample(RecordAccessed, legal_basis=log_review), None) == []
    assert basis_problems(sample(DropoutReported, legal_basis=log_review), None)
    esf = DutyBasis(duty=LegalDuty.ESF_PARTICIPANT_DATA)
    assert basis_problems(sample(ReferralRequested, legal_basis=esf), None) == [
        "Förordning (EU) 2021/1057 art. 17 is not a basis for sharing ReferralRequested"
    ]


def test_necessary_disclosure_is_for_referrals():
    disclosure = DisclosureBasis(provision=DisclosureProvision.OSL_10_2)
    assert basis_problems(sample(ReferralRequested, legal_basis=disclosure), None) == []
    assert basis_problems(sample(DropoutReported, legal_basis=disclosure), None)
