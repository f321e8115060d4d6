"""The five handoff flows, end to end: three services as OS processes, real Kafka and
PostgreSQL, driven through the HTTP APIs only."""

import uuid

import httpx
import pytest

from tests.e2e.agencies import (
    AF_GBG,
    ALE_SOCIAL,
    GBG_KAA,
    SCHOOL,
    SseListener,
    basis,
    eventually,
    new_subject,
    record_consent,
)

pytestmark = [pytest.mark.e2e, pytest.mark.lifecycle]


@pytest.fixture(scope="module")
def agencies(start_agencies):
    return start_agencies()


@pytest.fixture
async def http(agencies):
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def url(agencies, service, path):
    return agencies[service].url + path


def as_(agencies, agency):
    return agencies.headers(f"{agency}.caseworker")


async def referral_state(http, agencies, service, agency, referral_id):
    answer = await http.get(
        url(agencies, service, f"/referrals/{referral_id}"),
        params={"agency": agency},
        headers=as_(agencies, agency),
    )
    return (
        answer.json()
        if answer.status_code == 200
        else {"state": None, "status": answer.status_code}
    )


async def wait_state(http, agencies, service, agency, referral_id, state):
    async def probe():
        return await referral_state(http, agencies, service, agency, referral_id)

    return await eventually(probe, lambda r: r["state"] == state)


async def act(http, agencies, service, referral_id, action, **body):
    answer = await http.post(
        url(agencies, service, f"/referrals/{referral_id}/{action}"),
        json=body,
        headers=as_(agencies, body["agency"]),
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def refer(http, agencies, subject, receiver=ALE_SOCIAL, **extra):
    consent_id = await record_consent(http, agencies, subject, [ALE_SOCIAL, AF_GBG])
    body = {
        "sender": SCHOOL,
        "receiver": receiver,
        "subject": subject,
        "reason": "absence",
        "data_categories": ["attendance"],
        "legal_basis": basis(consent_id),
        **extra,
    }
    answer = await http.post(
        url(agencies, "school", "/referrals"), json=body, headers=as_(agencies, SCHOOL)
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def stream(http, agencies, service, agency, caseworker=None):
    query = f"?caseworker={caseworker}" if caseworker else ""
    path = f"/agencies/{agency}/notifications/stream{query}"
    return SseListener(http, url(agencies, service, path), as_(agencies, agency))


async def timeline(http, agencies, service, agency, subject):
    answer = await http.get(
        url(agencies, service, f"/agencies/{agency}/subjects/{subject}/timeline"),
        headers=as_(agencies, agency),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_flow1_school_refers_to_social_services_and_sees_every_step(http, agencies):
    subject = new_subject()
    async with (
        stream(http, agencies, "school", SCHOOL) as school_sse,
        stream(http, agencies, "social", ALE_SOCIAL) as social_sse,
    ):
        referral = await refer(http, agencies, subject)
        rid = referral["referral_id"]
        assert referral["state"] == "requested"
        await social_sse.wait_for(rid, "ReferralRequested")
        received = await wait_state(http, agencies, "social", ALE_SOCIAL, rid, "received")
        assert received["allowed_actions"] == [
            "ReferralAccepted",
            "ReferralCancelled",
            "ReferralRejected",
        ]

        await act(http, agencies, "social", rid, "accept", agency=ALE_SOCIAL)
        async with stream(http, agencies, "social", ALE_SOCIAL, caseworker="sara.berg") as mine:
            await act(
                http, agencies, "social", rid, "assign", agency=ALE_SOCIAL, caseworker="sara.berg"
            )
            await act(
                http, agencies, "social", rid, "first-contact", agency=ALE_SOCIAL, channel="meeting"
            )
            done = await act(
                http,
                agencies,
                "social",
                rid,
                "complete",
                agency=ALE_SOCIAL,
                outcome="support_given",
            )
            assert done["state"] == "completed"
            await school_sse.wait_for(rid, "ReferralCompleted")
            assert mine.of(rid) == [], "the caseworker's own actions are not echoed to her"

        final = await wait_state(http, agencies, "school", SCHOOL, rid, "completed")
        assert final["outcome"] == "support_given"
        assert final["caseworker"] == "sara.berg"
        assert school_sse.of(rid) == [
            "ReferralReceived",
            "ReferralAccepted",
            "CaseworkerAssigned",
            "FirstContactMade",
            "ReferralCompleted",
        ]
        assert social_sse.of(rid) == ["ReferralRequested"]


async def test_flow2_dropout_report_goes_to_the_home_municipality_kaa(http, agencies):
    subject = new_subject()
    async with stream(http, agencies, "employment", GBG_KAA) as kaa_sse:
        answer = await http.post(
            url(agencies, "school", "/dropout-reports"),
            headers=as_(agencies, SCHOOL),
            json={
                "school": SCHOOL,
                "subject": subject,
                "home_municipality": "1480",  # registered in Göteborg, studies in Ale
                "reason": "left_programme",
                "left_on": "2026-11-02",
                "under_20": True,
            },
        )
        assert answer.status_code == 201, answer.text
        report = answer.json()
        rid = report["referral_id"]
        assert report["receiver"] == GBG_KAA
        assert report["legal_basis"] == {"kind": "legal_duty", "duty": "SkolL 29 kap. 9 §"}
        await kaa_sse.wait_for(rid, "DropoutReported")

    inbox = await http.get(
        url(agencies, "employment", f"/agencies/{GBG_KAA}/inbox"),
        params={"status": "received"},
        headers=as_(agencies, GBG_KAA),
    )
    assert [h["referral_id"] for h in inbox.json() if h["subject"] == subject] == [rid]
    assert inbox.json()[0]["kind"] == "dropout_report"
    await act(http, agencies, "employment", rid, "accept", agency=GBG_KAA)
    await wait_state(http, agencies, "school", SCHOOL, rid, "accepted")
    ale_inbox = await http.get(
        url(agencies, "employment", "/agencies/ale.kaa/inbox"), headers=as_(agencies, "ale.kaa")
    )
    assert all(h["subject"] != subject for h in ale_inbox.json()), "not the school's municipality"


async def test_flows_3_and_4_rejection_redirect_and_outcome_on_every_timeline(http, agencies):
    subject = new_subject()
    first = (await refer(http, agencies, subject))["referral_id"]
    await wait_state(http, agencies, "social", ALE_SOCIAL, first, "received")
    await act(http, agencies, "social", first, "reject", agency=ALE_SOCIAL, reason="no_capacity")
    redirected = await act(
        http, agencies, "social", first, "redirect",
        agency=ALE_SOCIAL, receiver=AF_GBG, reason="employment_support", data_categories=["case_status"],
    )  # fmt: skip
    second = redirected["referral_id"]
    assert redirected["parent_referral_id"] == first
    assert redirected["sender"] == ALE_SOCIAL

    await wait_state(http, agencies, "employment", AF_GBG, second, "received")
    for action, extra in [
        ("accept", {}),
        ("first-contact", {"channel": "phone"}),
        ("complete", {"outcome": "returned_to_studies"}),
    ]:
        await act(http, agencies, "employment", second, action, agency=AF_GBG, **extra)

    async def school_timeline():
        return await timeline(http, agencies, "school", SCHOOL, subject)

    entries = await eventually(
        school_timeline, lambda t: any(e["event_type"] == "ReferralCompleted" for e in t)
    )
    by_referral = {}
    for entry in entries:
        by_referral.setdefault(entry["referral_id"], []).append(entry["event_type"])
    assert by_referral[first] == [
        "ReferralRequested",
        "ReferralReceived",
        "ReferralRejected",
        "ReferralRedirected",
    ]
    assert by_referral[second] == [
        "ReferralRequested", "ReferralReceived", "ReferralAccepted", "FirstContactMade", "ReferralCompleted",
    ]  # fmt: skip
    completed = next(e for e in entries if e["event_type"] == "ReferralCompleted")
    assert (completed["code"], completed["producer"], completed["parent_referral_id"]) == (
        "returned_to_studies", AF_GBG, first,
    )  # fmt: skip

    async def social_timeline():
        return await timeline(http, agencies, "social", ALE_SOCIAL, subject)

    social = await eventually(
        social_timeline, lambda t: any(e["event_type"] == "ReferralCompleted" for e in t)
    )
    # Referrals live on different partitions, so only each referral's own order is shared.
    assert sorted(e["event_id"] for e in social) == sorted(e["event_id"] for e in entries)
    for rid in (first, second):
        assert [e["event_id"] for e in social if e["referral_id"] == rid] == [
            e["event_id"] for e in entries if e["referral_id"] == rid
        ]
    employment = await timeline(http, agencies, "employment", AF_GBG, subject)
    assert {e["referral_id"] for e in employment} == {first, second}


async def test_flow5_an_unanswered_referral_expires_and_the_sender_is_told(http, agencies):
    subject = new_subject()
    async with stream(http, agencies, "school", SCHOOL) as school_sse:
        rid = (await refer(http, agencies, subject, respond_within_days=0))["referral_id"]
        await school_sse.wait_for(rid, "ReferralExpired")
    await wait_state(http, agencies, "social", ALE_SOCIAL, rid, "expired")
    answer = await http.post(
        url(agencies, "social", f"/referrals/{rid}/accept"),
        json={"agency": ALE_SOCIAL},
        headers=as_(agencies, ALE_SOCIAL),
    )
    assert answer.status_code == 409
    assert answer.json()["current_state"] == "expired"


async def test_illegal_transitions_are_409_with_state_and_nothing_is_emitted(http, agencies):
    subject = new_subject()
    rid = (await refer(http, agencies, subject))["referral_id"]
    await wait_state(http, agencies, "social", ALE_SOCIAL, rid, "received")
    answer = await http.post(
        url(agencies, "social", f"/referrals/{rid}/complete"),
        json={"agency": ALE_SOCIAL, "outcome": "in_work"},
        headers=as_(agencies, ALE_SOCIAL),
    )
    assert answer.status_code == 409
    assert answer.json()["current_state"] == "received"
    assert "ReferralAccepted" in answer.json()["allowed"]
    # The school learns of the receipt over Kafka; the refused completion never follows it.
    await wait_state(http, agencies, "school", SCHOOL, rid, "received")
    steps = await timeline(http, agencies, "school", SCHOOL, subject)
    assert [e["event_type"] for e in steps] == ["ReferralRequested", "ReferralReceived"]


async def test_a_second_open_referral_for_the_same_subject_and_agency_is_refused(http, agencies):
    subject = new_subject()
    first = await refer(http, agencies, subject)
    answer = await http.post(
        url(agencies, "school", "/referrals"),
        headers=as_(agencies, SCHOOL),
        json={
            "sender": SCHOOL, "receiver": ALE_SOCIAL, "subject": subject, "reason": "absence",
            "data_categories": ["attendance"], "legal_basis": first["legal_basis"],
        },
    )  # fmt: skip
    assert answer.status_code == 409
    assert answer.json()["error"] == "duplicate_open_referral"
    assert answer.json()["referral_id"] == first["referral_id"]


async def test_malformed_requests_get_422_naming_the_field(http, agencies):
    answer = await http.post(
        url(agencies, "school", "/referrals"),
        headers=as_(agencies, SCHOOL),
        json={"sender": SCHOOL, "receiver": ALE_SOCIAL, "subject": "19900101-1234", "reason": "absence",
              "data_categories": ["attendance"], "legal_basis": basis(str(uuid.uuid4()))},
    )  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "subject"]
    answer = await http.post(
        url(agencies, "school", "/referrals"),
        json={"sender": SCHOOL, "receiver": "nobody.here"},
        headers=as_(agencies, SCHOOL),
    )
    assert answer.status_code == 422
    missing = {tuple(d["loc"]) for d in answer.json()["detail"]}
    assert {("body", "reason"), ("body", "legal_basis"), ("body", "data_categories")} <= missing
    answer = await http.post(
        url(agencies, "school", "/referrals"),
        headers=as_(agencies, SCHOOL),
        json={"sender": SCHOOL, "receiver": ALE_SOCIAL, "reason": "absence",
              "data_categories": ["attendance"], "legal_basis": basis(str(uuid.uuid4()))},
    )  # fmt: skip
    assert answer.status_code == 422
    assert "exactly one of 'subject' and 'personnummer'" in answer.json()["detail"][0]["msg"]
