"""SIGKILL at the worst moments: after a consumer's database commit but before its offset
commit, and around the outbox relay's publish. Nothing is lost and nothing is done twice."""

import asyncio
import contextlib
import json

import asyncpg
import httpx
import pytest

from tests.e2e.agencies import ALE_SOCIAL, SCHOOL, basis, eventually, new_subject, record_consent

pytestmark = [pytest.mark.e2e, pytest.mark.lifecycle, pytest.mark.chaos]


def armed(*points):
    return {"SAMVERKAN_FAILPOINTS": json.dumps(list(points))}


async def consent_known_everywhere(agencies, subject):
    """Record the subject's consent and wait until social services know it."""
    async with httpx.AsyncClient(timeout=5) as http:
        consent_id = await record_consent(http, agencies, subject, [ALE_SOCIAL])

    async def known():
        return await fetch(
            agencies["social"], "SELECT 1 FROM consents WHERE consent_id = $1::uuid", consent_id
        )

    await eventually(known, lambda rows: len(rows) == 1)
    return consent_id


async def post_referral(agencies, subject, consent_id):
    body = {"sender": SCHOOL, "receiver": ALE_SOCIAL, "subject": subject, "reason": "absence",
            "data_categories": ["attendance"], "legal_basis": basis(consent_id)}  # fmt: skip
    async with httpx.AsyncClient(timeout=5) as http:
        # The school may die before answering; its database tells what was committed.
        with contextlib.suppress(httpx.HTTPError):
            await http.post(
                agencies["school"].url + "/referrals",
                json=body,
                headers=agencies.headers(f"{SCHOOL}.caseworker"),
            )


async def rearm(process, *points):
    """Restart a service with crash points armed."""
    await asyncio.to_thread(process.stop)
    process.extra_env.update(armed(*points))
    await asyncio.to_thread(process.start)


async def died_by_sigkill(process):
    code = await asyncio.to_thread(process.wait_exit, 30)
    assert code == -9, f"{process.name} exited with {code}"


async def restart(process):
    process.extra_env.pop("SAMVERKAN_FAILPOINTS", None)
    await asyncio.to_thread(process.start)


async def fetch(process, sql, *args):
    conn = await asyncpg.connect(process.database_dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def referral_of(process, subject):
    rows = await fetch(process, "SELECT referral_id FROM handoffs WHERE subject = $1", subject)
    assert len(rows) == 1
    return rows[0]["referral_id"]


async def assert_handed_over_exactly_once(agencies, subject):
    school, social = agencies["school"], agencies["social"]
    rid = await referral_of(school, subject)

    async def school_state():
        return await fetch(school, "SELECT state FROM handoffs WHERE referral_id = $1", rid)

    await eventually(school_state, lambda rows: rows[0]["state"] == "received")
    for process in (school, social):
        steps = await fetch(
            process,
            "SELECT event_type FROM handoff_events WHERE referral_id = $1 ORDER BY seq",
            rid,
        )
        assert [r["event_type"] for r in steps] == ["ReferralRequested", "ReferralReceived"], (
            process.name
        )
    told_social = await fetch(
        social, "SELECT event_type FROM notifications WHERE referral_id = $1", rid
    )
    told_school = await fetch(
        school, "SELECT event_type FROM notifications WHERE referral_id = $1", rid
    )
    assert [r["event_type"] for r in told_social] == ["ReferralRequested"]
    assert [r["event_type"] for r in told_school] == ["ReferralReceived"]
    unsent = await fetch(social, "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")
    assert unsent[0]["n"] == 0


async def test_consumer_killed_after_db_commit_before_offset_commit(start_agencies):
    agencies = start_agencies()
    subject = new_subject()
    consent_id = await consent_known_everywhere(agencies, subject)
    await rearm(agencies["social"], "consumer_after_commit")
    await post_referral(agencies, subject, consent_id)
    await died_by_sigkill(agencies["social"])
    await restart(agencies["social"])  # the same message is delivered again
    await assert_handed_over_exactly_once(agencies, subject)
    seen = await fetch(
        agencies["social"], "SELECT count(*) AS n FROM inbox WHERE consumer = 'social.handoffs'"
    )
    assert seen[0]["n"] >= 1


@pytest.mark.parametrize("point", ["relay_before_publish", "relay_after_publish"])
async def test_relay_killed_around_publish(start_agencies, point):
    agencies = start_agencies()
    subject = new_subject()
    consent_id = await consent_known_everywhere(agencies, subject)
    await rearm(agencies["school"], point)
    await post_referral(agencies, subject, consent_id)
    await died_by_sigkill(agencies["school"])
    rid = await referral_of(agencies["school"], subject)  # committed before the crash
    await restart(agencies["school"])
    await assert_handed_over_exactly_once(agencies, subject)
    sent = await fetch(
        agencies["school"], "SELECT count(*) AS n FROM outbox WHERE sent_at IS NOT NULL"
    )
    assert sent[0]["n"] >= 1 and rid is not None
