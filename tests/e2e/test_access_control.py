"""Every role × endpoint × agency: who may read, who may act, and that every read is logged."""

import json
import uuid

import asyncpg
import httpx
import pytest

from tests.e2e.agencies import SCHOOL, basis, eventually, new_subject, record_consent

pytestmark = [pytest.mark.e2e, pytest.mark.lawful]

OWN, OTHER = "ale.social", "goteborg.social"  # both hosted by the social service
PRINCIPALS = {
    "ale.social.caseworker": ("caseworker", OWN),
    "ale.social.agency_system": ("agency_system", OWN),
    "goteborg.social.caseworker": ("caseworker", OTHER),
    "ale.school.ale-gymnasium.caseworker": ("caseworker", "ale.school.ale-gymnasium"),
    "auditor": ("auditor", "*"),
}
RID, CID, SUBJECT = str(uuid.uuid4()), str(uuid.uuid4()), new_subject()
CONSENT_BASIS = {"kind": "consent", "consent_id": CID}
FUTURE = "2030-01-01T00:00:00Z"


def actions(agency):
    """(method, path, body) of every command, acting for `agency`."""
    act = {"agency": agency}
    return [
        ("POST", "/subjects", {"agency": agency, "subject": SUBJECT}),
        ("POST", "/referrals", {"sender": agency, "receiver": "ale.kaa", "subject": SUBJECT,
                                "reason": "absence", "data_categories": ["attendance"],
                                "legal_basis": CONSENT_BASIS}),
        ("POST", f"/referrals/{RID}/accept", act),
        ("POST", f"/referrals/{RID}/acknowledge", act),
        ("POST", f"/referrals/{RID}/reject", act | {"reason": "no_capacity"}),
        ("POST", f"/referrals/{RID}/assign", act | {"caseworker": "sara.berg"}),
        ("POST", f"/referrals/{RID}/contact-attempts", act | {"channel": "phone"}),
        ("POST", f"/referrals/{RID}/first-contact", act | {"channel": "phone"}),
        ("POST", f"/referrals/{RID}/pause", act | {"reason": "holiday"}),
        ("POST", f"/referrals/{RID}/resume", act),
        ("POST", f"/referrals/{RID}/complete", act | {"outcome": "in_work"}),
        ("POST", f"/referrals/{RID}/fail", act | {"reason": "no_contact"}),
        ("POST", f"/referrals/{RID}/cancel", act | {"reason": "duplicate"}),
        ("POST", f"/referrals/{RID}/entered-in-error", act),
        ("POST", f"/referrals/{RID}/redirect", act | {"receiver": "ale.kaa", "reason": "absence",
                                                       "data_categories": ["attendance"]}),
        ("POST", "/consents", {"agency": agency, "subject": SUBJECT, "given_by": "subject",
                               "method": "written", "recipients": ["ale.kaa"],
                               "data_categories": ["attendance"], "valid_until": FUTURE}),
        ("POST", f"/consents/{CID}/withdraw", act),
    ]  # fmt: skip


def reads(agency):
    """(method, path, body) of every read of `agency`'s records."""
    return [
        ("GET", f"/referrals/{RID}?agency={agency}", None),
        ("GET", f"/agencies/{agency}/inbox", None),
        ("GET", f"/agencies/{agency}/subjects/{SUBJECT}/timeline", None),
        ("GET", f"/agencies/{agency}/notifications", None),
        ("GET", f"/agencies/{agency}/subjects/{SUBJECT}/consents", None),
        ("STREAM", f"/agencies/{agency}/notifications/stream", None),
    ]


def may(principal, kind, agency):
    role, own = PRINCIPALS[principal]
    if kind == "read":
        return own == agency or role == "auditor"
    return own == agency and role != "auditor"


CASES = [
    (principal, kind, method, path, body)
    for principal in PRINCIPALS
    for agency in (OWN, OTHER)
    for kind, requests in (("act", actions(agency)), ("read", reads(agency)))
    for method, path, body in requests
]


@pytest.fixture(scope="module")
def social(start_agencies):
    return start_agencies()


async def call(http, base, method, path, body, headers):
    if method == "STREAM":
        async with http.stream("GET", base + path, headers=headers) as answer:
            return answer.status_code
    answer = await http.request(method, base + path, json=body, headers=headers)
    return answer.status_code


async def test_every_role_endpoint_and_agency(social):
    base = social["social"].url
    wrong = []
    async with httpx.AsyncClient(timeout=10) as http:
        for principal, kind, method, path, body in CASES:
            agency = (
                OWN if f"/{OWN}/" in path or OWN in json.dumps(body) or f"={OWN}" in path else OTHER
            )
            status = await call(http, base, method, path, body, social.headers(principal))
            allowed = status not in (401, 403)
            if allowed != may(principal, kind, agency):
                wrong.append((principal, method, path, status))
    assert wrong == []
    assert len(CASES) == len(PRINCIPALS) * 2 * (len(actions(OWN)) + len(reads(OWN)))


async def test_no_key_or_a_wrong_key_is_401_everywhere(social):
    base = social["social"].url
    async with httpx.AsyncClient(timeout=10) as http:
        for method, path, body in actions(OWN) + reads(OWN):
            for headers in (
                {},
                {"Authorization": "Bearer not-a-key"},
                {"Authorization": "Basic x"},
            ):
                assert await call(http, base, method, path, body, headers) == 401, (method, path)


async def test_every_read_endpoint_logs_who_read_what(social):
    reader, subject = "ale.social.caseworker", new_subject()
    async with httpx.AsyncClient(timeout=10) as http:
        consent_id = await record_consent(http, social, subject, [OWN])
        referral = await http.post(
            social["school"].url + "/referrals",
            headers=social.headers(f"{SCHOOL}.caseworker"),
            json={"sender": SCHOOL, "receiver": OWN, "subject": subject, "reason": "absence",
                  "data_categories": ["attendance"], "legal_basis": basis(consent_id)},
        )  # fmt: skip
        rid = referral.json()["referral_id"]
        base, headers = social["social"].url, social.headers(reader)

        async def arrived():
            return (
                await http.get(f"{base}/referrals/{rid}?agency={OWN}", headers=headers)
            ).status_code

        await eventually(arrived, lambda status: status == 200)
        for path in [
            f"/referrals/{rid}?agency={OWN}&purpose=follow_up",
            f"/agencies/{OWN}/inbox",
            f"/agencies/{OWN}/subjects/{subject}/timeline",
            f"/agencies/{OWN}/notifications",
            f"/agencies/{OWN}/subjects/{subject}/consents",
        ]:
            if "purpose" not in path:
                path += "?purpose=follow_up"
            answer = await http.get(base + path, headers=headers)
            assert answer.status_code == 200, (path, answer.text)
        stream = f"{base}/agencies/{OWN}/notifications/stream?purpose=follow_up"
        async with http.stream("GET", stream, headers=headers | {"Last-Event-ID": "0"}) as answer:
            async for line in answer.aiter_lines():
                if line.startswith("event: handoff"):
                    break

    async def access_log():
        conn = await asyncpg.connect(social["social"].database_dsn)
        try:
            rows = await conn.fetch(
                "SELECT payload FROM outbox WHERE event_type = 'RecordAccessed'"
            )
        finally:
            await conn.close()
        return [e for e in map(json.loads, (r["payload"] for r in rows)) if e["subject"] == subject]

    def stated(events):
        return [e for e in events if e["purpose"] == "follow_up"]

    everything = await eventually(
        access_log, lambda events: sum(e["resource"] == "inbox" for e in stated(events)) >= 3
    )
    logged = stated(everything)
    assert {e["resource"] for e in logged} == {"referral", "inbox", "timeline", "consent"}
    # the inbox listing, the notification list and the live stream each logged their reads
    assert sum(e["resource"] == "inbox" for e in logged) == 3
    assert all(e["accessor"] == reader and e["accessor_role"] == "caseworker" for e in everything)
    assert all(e["producer"] == OWN for e in everything)
    assert all(e["legal_basis"]["duty"] == "OSL 5 kap. / dataskydd loggkontroll" for e in logged)
    # the polling above, which stated no purpose, was logged too, as casework
    assert {e["purpose"] for e in everything} == {"follow_up", "casework"}
