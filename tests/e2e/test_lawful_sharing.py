"""Lawful sharing on the real stack: consent is checked before anything is shared, a
withdrawal stops sharing at once, and the personnummer never leaves the agency."""

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from contracts import DEAD_LETTER, DutyBasis, LegalDuty, encode
from contracts.events import ConcernReported, ReferralRequested
from contracts.topics import HANDOFFS
from services.kit.publisher import Publisher
from tests.e2e.agencies import (
    AF_GBG,
    ALE_SOCIAL,
    SCHOOL,
    basis,
    eventually,
    new_subject,
    record_consent,
)
from tests.factories import sample

pytestmark = [pytest.mark.e2e, pytest.mark.lawful]
PERSONNUMMER = "811218-9876"  # synthetic, Luhn-valid


@pytest.fixture(scope="module")
def agencies(start_agencies):
    return start_agencies()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def caseworker(agencies, agency):
    return agencies.headers(f"{agency}.caseworker")


async def refer(
    http, agencies, consent_id, subject, receiver=ALE_SOCIAL, categories=("attendance",)
):
    return await http.post(
        agencies["school"].url + "/referrals",
        headers=caseworker(agencies, SCHOOL),
        json={"sender": SCHOOL, "receiver": receiver, "subject": subject, "reason": "absence",
              "data_categories": list(categories), "legal_basis": basis(consent_id)},
    )  # fmt: skip


async def rows(process, sql, *args):
    conn = await asyncpg.connect(process.database_dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_sharing_without_a_covering_consent_is_refused_naming_what_is_missing(http, agencies):
    subject = new_subject()
    consent_id = await record_consent(http, agencies, subject, [ALE_SOCIAL], ["attendance"])
    cases = {
        "missing": (await refer(http, agencies, "00000000-0000-4000-8000-000000000000", subject),
                    "no consent 00000000-0000-4000-8000-000000000000 is recorded"),
        "wrong recipient": (await refer(http, agencies, consent_id, subject, receiver=AF_GBG),
                            f"consent does not cover recipient {AF_GBG}"),
        "wrong category": (await refer(http, agencies, consent_id, subject, categories=("health",)),
                           "consent does not cover data categories health"),
    }  # fmt: skip
    expired = await http.post(
        agencies["school"].url + "/consents",
        headers=caseworker(agencies, SCHOOL),
        json={"agency": SCHOOL, "subject": subject, "given_by": "guardian", "method": "written",
              "recipients": [ALE_SOCIAL], "data_categories": ["attendance"],
              "valid_from": "2025-01-01T00:00:00Z", "valid_until": "2025-06-30T00:00:00Z"},
    )  # fmt: skip
    cases["expired"] = (
        await refer(http, agencies, expired.json()["consent_id"], subject),
        "consent has expired",
    )
    withdrawn = await record_consent(http, agencies, subject, [ALE_SOCIAL], ["attendance"])
    answer = await http.post(
        f"{agencies['school'].url}/consents/{withdrawn}/withdraw",
        json={"agency": SCHOOL},
        headers=caseworker(agencies, SCHOOL),
    )
    assert answer.status_code == 200 and answer.json()["withdrawn_at"]
    cases["withdrawn"] = (await refer(http, agencies, withdrawn, subject), "consent was withdrawn")
    for name, (answer, problem) in cases.items():
        assert answer.status_code == 422, name
        assert problem in answer.json()["detail"], (name, answer.json())
    # Nothing was shared: social services never heard of this subject.
    assert (
        await rows(agencies["social"], "SELECT 1 FROM handoffs WHERE subject = $1", subject) == []
    )
    assert (await refer(http, agencies, consent_id, subject)).status_code == 201


async def test_withdrawal_cancels_open_referrals_and_stops_sharing(http, agencies):
    subject = new_subject()
    consent_id = await record_consent(http, agencies, subject, [ALE_SOCIAL])
    rid = (await refer(http, agencies, consent_id, subject)).json()["referral_id"]
    social = agencies["social"].url

    async def social_state():
        answer = await http.get(
            f"{social}/referrals/{rid}?agency={ALE_SOCIAL}",
            headers=caseworker(agencies, ALE_SOCIAL),
        )
        return answer.json().get("state")

    await eventually(social_state, lambda state: state == "received")
    await http.post(
        f"{agencies['school'].url}/consents/{consent_id}/withdraw",
        json={"agency": SCHOOL},
        headers=caseworker(agencies, SCHOOL),
    )
    await eventually(social_state, lambda state: state == "cancelled")
    view = await http.get(
        f"{social}/referrals/{rid}?agency={ALE_SOCIAL}", headers=caseworker(agencies, ALE_SOCIAL)
    )
    assert view.json()["outcome"] == "consent_withdrawn"
    known = await rows(
        agencies["social"],
        "SELECT withdrawn_at FROM consents WHERE consent_id = $1::uuid",
        consent_id,
    )
    assert known[0]["withdrawn_at"] is not None
    accept = await http.post(
        f"{social}/referrals/{rid}/accept",
        json={"agency": ALE_SOCIAL},
        headers=caseworker(agencies, ALE_SOCIAL),
    )
    assert accept.status_code == 409


async def test_the_personnummer_stays_in_the_agency_that_registered_it(http, agencies):
    bad = await http.post(
        agencies["school"].url + "/subjects",
        json={"agency": SCHOOL, "personnummer": "811218-9875"},
        headers=caseworker(agencies, SCHOOL),
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "personnummer"]
    assert "check digit" in bad.json()["detail"][0]["msg"]

    registered = await http.post(
        agencies["school"].url + "/subjects",
        json={"agency": SCHOOL, "personnummer": PERSONNUMMER},
        headers=caseworker(agencies, SCHOOL),
    )
    subject = registered.json()["subject"]
    assert registered.status_code == 201 and len(subject) == 64
    consent_id = await record_consent(http, agencies, subject, [ALE_SOCIAL])
    answer = await http.post(
        agencies["school"].url + "/referrals",
        headers=caseworker(agencies, SCHOOL),
        json={"sender": SCHOOL, "receiver": ALE_SOCIAL, "personnummer": "19811218-9876",
              "reason": "absence", "data_categories": ["attendance"], "legal_basis": basis(consent_id)},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert answer.json()["subject"] == subject, "the same person gets the same pseudonym"
    stored = await rows(
        agencies["school"], "SELECT personnummer FROM subjects WHERE subject = $1", subject
    )
    assert [r["personnummer"] for r in stored] == ["198112189876"]

    async def social_knows():
        return await rows(
            agencies["social"], "SELECT subject FROM handoffs WHERE subject = $1", subject
        )

    await eventually(social_knows, lambda found: len(found) == 1)
    assert await rows(agencies["social"], "SELECT * FROM subjects") == []


async def test_a_protected_identity_is_marked_and_kept(http, agencies):
    registered = await http.post(
        agencies["school"].url + "/subjects",
        json={"agency": SCHOOL, "personnummer": "121212-1212", "protected_identity": True},
        headers=caseworker(agencies, SCHOOL),
    )
    subject = registered.json()["subject"]
    consent_id = await record_consent(http, agencies, subject, [ALE_SOCIAL])
    referral = await refer(http, agencies, consent_id, subject)  # no marking in this request
    assert referral.json()["protected_identity"] is True
    rid = referral.json()["referral_id"]

    async def social_view():
        answer = await http.get(
            f"{agencies['social'].url}/referrals/{rid}?agency={ALE_SOCIAL}",
            headers=caseworker(agencies, ALE_SOCIAL),
        )
        return answer.json()

    assert (await eventually(social_view, lambda view: view.get("state") == "received"))[
        "protected_identity"
    ]


async def test_events_without_a_valid_basis_are_dead_lettered_by_consumers(
    agencies, kafka_settings, kafka_config
):
    prefix = agencies["social"].topic_prefix
    unlawful = {
        "duty basis on a plain referral": sample(
            ReferralRequested, producer=SCHOOL, receiver=ALE_SOCIAL,
            legal_basis=DutyBasis(duty=LegalDuty.KAA_NOTIFICATION),
        ),
        "concern duty for an adult": sample(
            ConcernReported, producer=SCHOOL, receiver=ALE_SOCIAL, subject_is_child=False,
            legal_basis=DutyBasis(duty=LegalDuty.CONCERN_REPORT),
        ),
    }  # fmt: skip
    # A school system gone rogue: its principal may write handoffs, not make them lawful.
    publisher = Publisher(kafka_settings("school"), "rogue")
    await publisher.start()
    try:
        for event in unlawful.values():
            await publisher.send(prefix + HANDOFFS.name, event.key, encode(event), {})
    finally:
        await publisher.stop()
    letters = await dead_letters(
        kafka_config(), prefix + DEAD_LETTER.name, "social.handoffs", len(unlawful)
    )
    assert {h["dlq.reason"] for h in letters.values()} == {"unlawful"}
    assert set(letters) == {str(e.event_id) for e in unlawful.values()}
    ids = [e.correlation_id for e in unlawful.values()]
    assert (
        await rows(
            agencies["social"], "SELECT 1 FROM handoffs WHERE referral_id = ANY($1::uuid[])", ids
        )
        == []
    )


async def dead_letters(client, topic, consumer_name, count):
    """Dead letters written by one consumer, by event id (read as the admin)."""
    consumer = AIOKafkaConsumer(topic, **client, auto_offset_reset="earliest",
                                group_id=f"inspect-{uuid.uuid4().hex[:6]}")  # fmt: skip
    await consumer.start()
    found: dict[str, dict[str, str]] = {}
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        headers = {k: v.decode() for k, v in record.headers}
                        if headers["dlq.consumer"] == consumer_name:
                            found[json.loads(record.value)["event_id"]] = headers
    finally:
        await consumer.stop()
    return found
