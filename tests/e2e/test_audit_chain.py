"""The audit service among the agency services, every one an OS process on the real stack:
a referral redirected from social services to employment comes back as one complete chain
in causal order; every read of a person's record reaches the log; the log, exported, verifies
with the command line and the published head alone."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.agencies import (
    AF_GBG,
    ALE_SOCIAL,
    SCHOOL,
    basis,
    eventually,
    new_subject,
    record_consent,
)

pytestmark = [pytest.mark.e2e, pytest.mark.audit]

ROOT = Path(__file__).resolve().parents[2]
REDIRECTED_CHAIN = [
    (0, "ReferralRequested", SCHOOL, "requested"),
    (0, "ReferralReceived", ALE_SOCIAL, "received"),
    (0, "ReferralRejected", ALE_SOCIAL, "rejected"),
    (0, "ReferralRedirected", ALE_SOCIAL, "rejected"),
    (1, "ReferralRequested", ALE_SOCIAL, "requested"),
    (1, "ReferralReceived", AF_GBG, "received"),
    (1, "ReferralAccepted", AF_GBG, "accepted"),
    (1, "FirstContactMade", AF_GBG, "in_progress"),
    (1, "ReferralCompleted", AF_GBG, "completed"),
]


def cli(*args, env=None):
    """The audit command line as its own process."""
    return subprocess.run(
        [sys.executable, "-m", "services.audit.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def agencies(start_agencies):
    return start_agencies()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def post(http, agencies, service, path, agency, body):
    answer = await http.post(
        agencies[service].url + path, json=body, headers=agencies.headers(f"{agency}.caseworker")
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def audit(http, agencies, path, **params):
    answer = await http.get(
        agencies["audit"].url + path, params=params, headers=agencies.headers("auditor")
    )
    return answer.json() if answer.status_code == 200 else {"status": answer.status_code}


async def wait_received(http, agencies, service, agency, referral_id):
    async def state():
        answer = await http.get(
            f"{agencies[service].url}/referrals/{referral_id}",
            params={"agency": agency},
            headers=agencies.headers(f"{agency}.caseworker"),
        )
        return answer.json().get("state") if answer.status_code == 200 else None

    await eventually(state, lambda s: s == "received")


async def redirected_referral(http, agencies, subject):
    """School refers to social services, who reject and redirect to employment, who help."""
    consent_id = await record_consent(http, agencies, subject, [ALE_SOCIAL, AF_GBG])
    first = await post(http, agencies, "school", "/referrals", SCHOOL, {
        "sender": SCHOOL, "receiver": ALE_SOCIAL, "subject": subject, "reason": "absence",
        "data_categories": ["attendance"], "legal_basis": basis(consent_id),
    })  # fmt: skip
    first_id = first["referral_id"]
    await wait_received(http, agencies, "social", ALE_SOCIAL, first_id)
    act = {"agency": ALE_SOCIAL}
    await post(http, agencies, "social", f"/referrals/{first_id}/reject", ALE_SOCIAL,
               act | {"reason": "no_capacity"})  # fmt: skip
    second = await post(http, agencies, "social", f"/referrals/{first_id}/redirect", ALE_SOCIAL,
                        act | {"receiver": AF_GBG, "reason": "employment_support",
                               "data_categories": ["case_status"]})  # fmt: skip
    second_id = second["referral_id"]
    await wait_received(http, agencies, "employment", AF_GBG, second_id)
    for action, extra in [
        ("accept", {}),
        ("first-contact", {"channel": "phone"}),
        ("complete", {"outcome": "returned_to_studies"}),
    ]:
        path = f"/referrals/{second_id}/{action}"
        await post(http, agencies, "employment", path, AF_GBG, {"agency": AF_GBG, **extra})
    return first_id, second_id, consent_id


async def test_a_redirected_referral_comes_back_complete_and_in_causal_order(http, agencies):
    subject = new_subject()
    first, second, consent_id = await redirected_referral(http, agencies, subject)

    chain = await eventually(
        lambda: audit(http, agencies, f"/audit/referrals/{second}/chain"),
        lambda c: len(c.get("events", [])) == len(REDIRECTED_CHAIN),
    )
    ids = [first, second]
    assert chain["root_referral_id"] == first
    assert [
        (ids.index(e["referral_id"]), e["event_type"], e["producer"], e["state"])
        for e in chain["events"]
    ] == REDIRECTED_CHAIN
    parent, child = chain["referrals"]
    assert (parent["referral_id"], parent["children"], parent["state"]) == (
        first,
        [second],
        "rejected",
    )
    assert (child["parent_referral_id"], child["sender"], child["receiver"]) == (
        first,
        ALE_SOCIAL,
        AF_GBG,
    )
    assert parent["legal_basis"] == child["legal_basis"] == basis(consent_id)

    seqs = [e["seq"] for e in chain["events"]]
    for position, event in enumerate(chain["events"][1:], start=1):
        # Each event was caused by the one before it: the redirect opened the new referral.
        assert event["caused_by_seq"] == seqs[position - 1], event
        assert event["legal_basis"] == basis(consent_id)
        assert event["occurred_at"] >= chain["events"][position - 1]["occurred_at"]
    assert chain["events"][0]["caused_by_seq"] is None
    assert chain["events"][3]["details"]["new_referral_id"] == second

    assert await audit(http, agencies, f"/audit/referrals/{first}/chain") == chain
    assert await audit(http, agencies, f"/audit/subjects/{subject}/chains") == [chain]
    text = await http.get(
        f"{agencies['audit'].url}/audit/referrals/{first}/chain",
        params={"format": "text"},
        headers=agencies.headers("auditor"),
    )
    lines = text.text.splitlines()
    assert lines[0].startswith(f"referral {first}: {SCHOOL} -> {ALE_SOCIAL}, now rejected")
    assert any(
        line.startswith(f"    referral {second}: {ALE_SOCIAL} -> {AF_GBG}") for line in lines
    )

    dsn = agencies["audit"].database_dsn
    run = cli("subject", subject, "--format", "json", "--dsn", dsn)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [chain], "the command line gives what the API gives"
    run = cli("chain", second, "--dsn", dsn)
    assert run.returncode == 0 and run.stdout.splitlines() == lines, run.stderr

    caseworker = agencies.headers(f"{ALE_SOCIAL}.caseworker")
    refused = await http.get(
        f"{agencies['audit'].url}/audit/referrals/{first}/chain", headers=caseworker
    )
    assert refused.status_code == 403, "only auditors read the audit log"


async def test_every_read_of_a_record_reaches_the_audit_log(http, agencies):
    subject, reader = new_subject(), f"{ALE_SOCIAL}.caseworker"
    consent_id = await record_consent(http, agencies, subject, [ALE_SOCIAL])
    referral = await post(http, agencies, "school", "/referrals", SCHOOL, {
        "sender": SCHOOL, "receiver": ALE_SOCIAL, "subject": subject, "reason": "absence",
        "data_categories": ["attendance"], "legal_basis": basis(consent_id),
    })  # fmt: skip
    rid = referral["referral_id"]
    await wait_received(http, agencies, "social", ALE_SOCIAL, rid)
    base, headers = agencies["social"].url, agencies.headers(reader)
    for path in [
        f"/referrals/{rid}?agency={ALE_SOCIAL}",
        f"/agencies/{ALE_SOCIAL}/inbox",
        f"/agencies/{ALE_SOCIAL}/subjects/{subject}/timeline",
        f"/agencies/{ALE_SOCIAL}/notifications",
        f"/agencies/{ALE_SOCIAL}/subjects/{subject}/consents",
    ]:
        path += ("&" if "?" in path else "?") + "purpose=follow_up"
        answer = await http.get(base + path, headers=headers)
        assert answer.status_code == 200, (path, answer.text)
    stream = f"{base}/agencies/{ALE_SOCIAL}/notifications/stream?purpose=follow_up"
    async with http.stream("GET", stream, headers=headers | {"Last-Event-ID": "0"}) as answer:
        async for line in answer.aiter_lines():
            if line.startswith("event: handoff"):
                break

    def follow_ups(reads):
        return [r for r in reads if isinstance(r, dict) and r["purpose"] == "follow_up"]

    reads = await eventually(
        lambda: audit(http, agencies, "/audit/reads", subject=subject, accessor=reader),
        lambda found: (
            sum(r["resource"] == "inbox" for r in follow_ups(found)) >= 3
            and {r["resource"] for r in follow_ups(found)} >= {"referral", "timeline", "consent"}
        ),
    )
    logged = follow_ups(reads)
    assert {r["resource"] for r in logged} == {"referral", "inbox", "timeline", "consent"}
    assert all((r["agency"], r["accessor_role"]) == (ALE_SOCIAL, "caseworker") for r in logged)
    referral_read = next(r for r in logged if r["resource"] == "referral")
    assert referral_read["resource_id"] == rid
    run = cli("reads", "--subject", subject, "--dsn", agencies["audit"].database_dsn)
    assert run.returncode == 0, run.stderr
    assert {r["event_id"] for r in logged} <= {r["event_id"] for r in json.loads(run.stdout)}
    by_period = await audit(
        http, agencies, "/audit/reads", accessor=reader, since=logged[0]["occurred_at"]
    )
    assert {r["event_id"] for r in logged} <= {r["event_id"] for r in by_period}


async def test_the_exported_log_verifies_with_the_command_line_and_the_head_alone(
    http, agencies, tmp_path
):
    await redirected_referral(http, agencies, new_subject())
    head = await audit(http, agencies, "/audit/head")
    assert head["size"] > 0
    kept = tmp_path / "head.json"
    kept.write_text(json.dumps(head))
    export = tmp_path / "audit.jsonl"
    # The operator exports from the audit database; the auditor needs only the two files.
    exported = cli("export", str(export), "--dsn", agencies["audit"].database_dsn)
    assert exported.returncode == 0, exported.stderr
    checked = cli(
        "verify-export", str(export), "--head", str(kept), "--public-key", head["public_key"],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] and report["checked"] >= head["size"]
    served = await audit(http, agencies, "/audit/verify")
    assert served["ok"], served
