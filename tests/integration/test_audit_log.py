"""The audit service on the real broker and database: every event topic lands in one signed,
verifiable log; tampering with stored rows is found and named; an export verifies with the
command line alone; reads of persons' records are kept and can be reviewed."""

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from contracts import DutyBasis, Event, LegalDuty, encode, topic_for, utc_now
from contracts.codes import AccessedResource, AccessPurpose, PrincipalRole
from contracts.events import RecordAccessed
from deploy.credentials import write_principals
from services.audit import repository as repo
from services.audit.bootstrap import create_app
from services.audit.domain import Verifier
from services.audit.part import MIGRATIONS
from services.audit.settings import AuditSettings
from services.features.proofs.checks import Mismatch, Problem, check_inclusion
from services.features.proofs.heads import Signer, new_secret
from services.features.proofs.merkle import consistent, leaf_hash, leaf_input, to_micros
from services.kit.database import create_pool, migrate
from services.kit.publisher import Publisher
from services.kit.settings import DatabaseSettings
from tests.factories import all_samples

pytestmark = [pytest.mark.integration, pytest.mark.audit]

ROOT = Path(__file__).resolve().parents[2]
PRINCIPALS: list[dict[str, object]] = [
    {"id": "auditor", "role": "auditor", "agency": "ivo.tillsyn", "all_agencies": True},
    {"id": "social.auditor", "role": "auditor", "agency": "ale.social"},
    {"id": "kaa.auditor", "role": "auditor", "agency": "ale.kaa"},
    {"id": "ale.social.caseworker", "role": "caseworker", "agency": "ale.social"},
]


@dataclass
class AuditService:
    """A running audit service: its HTTP API, database and keys, and a producer of events."""

    app: FastAPI
    http: httpx.AsyncClient
    dsn: str
    public_key: str
    api_keys: dict[str, str]
    publisher: Publisher
    topic_prefix: str

    def headers(self, principal: str = "auditor") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_keys[principal]}"}

    async def get(self, path: str, principal: str = "auditor", **params: Any) -> Any:
        answer = await self.http.get(path, params=params, headers=self.headers(principal))
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def publish(self, *events: Event) -> None:
        """Put events on their contract topics, as the producing services' relays would."""
        await self.publisher.send_many(
            [(self.topic_prefix + topic_for(e).name, e.key, encode(e), {}) for e in events]
        )

    async def wait_for_size(self, size: int) -> dict[str, Any]:
        """Poll the signed head until the log holds `size` entries."""

        async def head() -> dict[str, Any]:
            return await self.get("/audit/head")

        return await eventually(head, lambda h: h["size"] >= size)

    async def verify(self, **params: Any) -> dict[str, Any]:
        return await self.get("/audit/verify", **params)

    async def lag(self) -> dict[str, float]:
        """Consumer lag of the audit log per topic, as /metrics reports it."""
        text = (await self.http.get("/metrics")).text
        lines = [line for line in text.splitlines() if line.startswith("samverkan_consumer_lag{")]
        return {
            line.split('topic="', 1)[1].split('"', 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in lines
            if 'group="samverkan.audit.log"' in line and self.topic_prefix in line
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The audit command line, as its own process, against this service's database."""
        return subprocess.run(
            [sys.executable, "-m", "services.audit.cli", *args],
            cwd=ROOT,
            env={**os.environ, "SAMVERKAN_DB_DSN": self.dsn},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


async def eventually(probe, check, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if check(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last: {result!r}")
        await asyncio.sleep(0.1)


@pytest.fixture
async def audit(
    topic_prefix, new_database, kafka_settings, tmp_path
) -> AsyncIterator[AuditService]:
    keys = write_principals(PRINCIPALS, tmp_path / "principals.yaml", tmp_path / "keys.json")
    secret, dsn = new_secret(), await new_database("audit")
    settings = AuditSettings(
        kafka=kafka_settings("audit", topic_prefix=topic_prefix, session_timeout_ms=6000),
        db=DatabaseSettings(dsn=dsn),
        principals_file=tmp_path / "principals.yaml",
        audit_signing_key=secret,
        audit_publish_head_s=0.2,
    )
    app = create_app(settings)
    publisher = Publisher(kafka_settings(), client_id="audit-test")
    await publisher.start()
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://audit"
            ) as http,
        ):
            yield AuditService(
                app,
                http,
                dsn,
                base64.b64encode(Signer.from_secret(secret).public_key).decode(),
                keys,
                publisher,
                topic_prefix,
            )
    finally:
        await publisher.stop()


async def a_logged_sample(audit: AuditService) -> list[Event]:
    """One event of every type, on every event topic, in the log."""
    events = all_samples()
    await audit.publish(*events)
    await audit.wait_for_size(len(events))
    return events


async def test_every_event_topic_lands_once_in_one_signed_verifiable_log(audit):
    events = all_samples()
    topics = {audit.topic_prefix + topic_for(e).name for e in events}
    assert len(topics) == 5, "handoffs, consents, signals, participation and access"
    # A redelivered event and a message that is not an event are not appended.
    await audit.publish(*events, events[0])
    await audit.publisher.send_many([(min(topics), b"k", b"not json", {})])
    await eventually(
        audit.lag, lambda lag: set(lag) == topics and not any(lag.values()), timeout=60
    )
    head = await audit.get("/audit/head")
    assert head["size"] == len(events)

    entries = [await audit.get(f"/audit/entries/{seq}") for seq in range(head["size"])]
    assert sorted(json.loads(e["event"])["event_id"] for e in entries) == sorted(
        str(e.event_id) for e in events
    )
    assert {e["topic"] for e in entries} == topics
    stored = {json.loads(e["event"])["event_id"]: e["event"] for e in entries}
    assert all(stored[str(e.event_id)].encode() == encode(e) for e in events), "bytes as sent"

    # Reading entries is itself logged: the log has grown by those reads since.
    report = await audit.verify()
    assert report["ok"] and report["checked"] == report["head"]["size"] > len(events), report

    public_key = base64.b64decode(audit.public_key)
    for entry in entries:
        proof = await audit.get(f"/audit/entries/{entry['seq']}/proof")
        assert check_inclusion(proof, public_key, entry) is None
    forged = {**entries[3], "event": entries[3]["event"].replace("ale.", "xyz.")}
    proof = await audit.get("/audit/entries/3/proof")
    assert check_inclusion(proof, public_key, forged) is not None

    more = all_samples()
    await audit.publish(*more)
    grown = await audit.wait_for_size(len(events) + len(more))
    proof = await audit.get("/audit/consistency", first=head["size"], second=grown["size"])
    assert consistent(
        head["size"],
        grown["size"],
        bytes.fromhex(head["root_hash"]),
        bytes.fromhex(grown["root_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )
    metrics = (await audit.http.get("/metrics")).text
    assert (
        'samverkan_events_handled_total{consumer="audit.log",event_type="ReferralRequested"}'
        in (metrics)
    )
    assert 'samverkan_events_dead_lettered_total{consumer="audit.log",reason="not_json"}' in metrics
    assert 'samverkan_handoff_latency_seconds_count{consumer="audit.log"' in metrics
    assert 'samverkan_outbox_backlog{service="audit"}' in metrics


async def test_editing_deleting_or_reordering_a_stored_row_is_named(audit):
    size = len(await a_logged_sample(audit))
    db = await asyncpg.connect(audit.dsn)
    try:
        original = await db.fetchrow("SELECT * FROM audit_entries WHERE seq = 7")
        edited = original["event"].replace(b'"producer":"', b'"producer":"x')

        async def first_mismatch() -> dict[str, Any]:
            report = await audit.verify()
            assert not report["ok"]
            return report["first_mismatch"]

        await db.execute("UPDATE audit_entries SET event = $1 WHERE seq = 7", edited)
        assert await first_mismatch() == {
            "seq": 7,
            "problem": "leaf_hash",
            "detail": "content does not match its leaf hash",
        }
        run = audit.cli("verify", "--public-key", audit.public_key)
        assert run.returncode == 1, run.stderr
        assert json.loads(run.stdout)["first_mismatch"]["seq"] == 7

        # A forger who also recomputes the leaf hash still breaks the chain at that row.
        forged_leaf = leaf_hash(
            leaf_input(
                7,
                to_micros(original["recorded_at"]),
                original["topic"],
                original["partition"],
                original["offset"],
                edited,
            )
        )
        await db.execute("UPDATE audit_entries SET leaf_hash = $1 WHERE seq = 7", forged_leaf)
        assert (await first_mismatch())["seq"] == 7
        assert (await first_mismatch())["problem"] == "chain_hash"

        await db.execute(
            "UPDATE audit_entries SET event = $1, leaf_hash = $2 WHERE seq = 7",
            original["event"],
            original["leaf_hash"],
        )
        assert (await audit.verify())["ok"]

        await db.execute("DELETE FROM audit_entries WHERE seq = 4")
        assert (await first_mismatch())["seq"] == 4
        assert (await first_mismatch())["problem"] == "missing"
        await db.execute("DELETE FROM audit_entries WHERE seq = $1", size - 1)
        assert (await first_mismatch())["seq"] == 4, "the first one is named"

        # Reordering: entries 2 and 9 swap places.
        async with db.transaction():
            await db.execute("UPDATE audit_entries SET seq = 1000000 WHERE seq = 2")
            await db.execute("UPDATE audit_entries SET seq = 2 WHERE seq = 9")
            await db.execute("UPDATE audit_entries SET seq = 9 WHERE seq = 1000000")
        assert await first_mismatch() == {
            "seq": 2,
            "problem": "leaf_hash",
            "detail": "content does not match its leaf hash",
        }
        range_report = await audit.verify(start=11, end=14)
        assert range_report["ok"] and range_report["checked"] == 3, "entries 11..13 are intact"
    finally:
        await db.close()


async def test_the_query_puts_each_leaf_input_together_as_the_domain_does(new_database):
    """Verification hashes leaf inputs that its query makes from the stored columns: byte for
    byte merkle.leaf_input, whatever the header holds, and following an edit of any column."""
    pool = await create_pool(await new_database("audit"))
    try:
        await migrate(pool, MIGRATIONS)
        signer = Signer.from_secret(new_secret())
        async with pool.acquire() as conn, conn.transaction():
            entries = await repo.append(
                conn,
                signer,
                datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
                [("samverkan.ärenden\\v1", 0, 0, '{"n": "å\\n"}'.encode())],
            )
            entries += await repo.append(
                conn,
                signer,
                datetime(2031, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC),
                [("t", 2**31 - 1, 2**63 - 1, b"{}"), ("t", 3, 10, b"[]"), ("t", 3, 11, b"1")],
            )

        async def rows() -> list[tuple[Any, ...]]:
            async with pool.acquire() as conn, conn.transaction():
                return [tuple(r) async for b in repo.verification_rows(conn, 0, None) for r in b]

        assert await rows() == [e.verification_row() for e in entries]
        edits = {
            "topic": "u",
            "partition": 4,
            "offset": 12,
            "recorded_at": datetime(2031, 2, 3, 4, 5, 6, 789_013, tzinfo=UTC),
            "event": b"2",
        }
        for column, value in edits.items():
            await pool.execute(f'UPDATE audit_entries SET "{column}" = $1 WHERE seq = 2', value)
            verifier = Verifier()
            assert not verifier.feed(await rows()), f"an edited {column} is found"
            assert verifier.mismatch == Mismatch(
                2, Problem.LEAF_HASH, "content does not match its leaf hash"
            )
            await pool.execute(
                f'UPDATE audit_entries SET "{column}" = $1 WHERE seq = 2',
                getattr(entries[2], column),
            )
        verifier = Verifier()
        assert verifier.feed(await rows()) and verifier.finish(len(entries)) is None
    finally:
        await pool.close()


async def test_one_query_finds_every_referral_linked_by_redirects(new_database):
    """A -> B -> C by redirects (each redirect names the child, each child's request names its
    parent), D unrelated: from any of A, B, C the query returns the events of all three."""
    a, b, c, d = (uuid.uuid4() for _ in range(4))

    def event(kind: str, referral: uuid.UUID, **links: uuid.UUID) -> bytes:
        body = {"event_id": str(uuid.uuid4()), "event_type": kind, "correlation_id": str(referral)}
        return json.dumps(body | {k: str(v) for k, v in links.items()}).encode()

    received = [
        event("ReferralRequested", a),
        event("ReferralRequested", d),
        event("ReferralRedirected", a, new_referral_id=b),
        event("ReferralRequested", b, parent_referral_id=a),
        event("ReferralRedirected", b, new_referral_id=c),
        event("ReferralRequested", c, parent_referral_id=b),
        event("ReferralAccepted", c),
        event("RecordAccessed", c),
    ]
    pool = await create_pool(await new_database("audit"))
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn, conn.transaction():
            await repo.append(
                conn,
                Signer.from_secret(new_secret()),
                utc_now(),
                [("t", 0, n, e) for n, e in enumerate(received)],
            )
        kinds = ["ReferralRequested", "ReferralRedirected", "ReferralAccepted"]
        async with pool.acquire() as conn:
            for start in (a, b, c):
                rows = await repo.linked_entries(conn, [start], kinds)
                assert [r["seq"] for r in rows] == [0, 2, 3, 4, 5, 6]
            assert [r["seq"] for r in await repo.linked_entries(conn, [d], kinds)] == [1]
            assert await repo.linked_entries(conn, [uuid.uuid4()], kinds) == []
    finally:
        await pool.close()


async def test_an_export_and_a_kept_head_verify_with_the_command_line_alone(audit, tmp_path):
    await a_logged_sample(audit)
    kept_head = tmp_path / "head.json"
    kept_head.write_text(json.dumps(await audit.get("/audit/head")))
    more = all_samples()
    await audit.publish(*more)
    await audit.wait_for_size(2 * len(more))

    export = tmp_path / "log.jsonl"
    run = audit.cli("export", str(export))
    assert run.returncode == 0, run.stderr
    lines = export.read_text().splitlines()
    assert len(lines) == 1 + 2 * len(more)

    def verify_export(*extra: str) -> tuple[int, dict[str, Any]]:
        # Run outside the repository's settings: only the files and the public key.
        done = subprocess.run(
            [
                *(sys.executable, "-m", "services.audit.cli", "verify-export", str(export)),
                *("--public-key", audit.public_key, *extra),
            ],
            cwd=ROOT,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done.returncode, json.loads(done.stdout or "{}")

    code, report = verify_export("--head", str(kept_head))
    assert code == 0 and report["ok"] and report["checked"] == 2 * len(more), report

    tampered = lines.copy()
    entry = json.loads(tampered[5])
    entry["entry"]["event"] = entry["entry"]["event"].replace("ale.", "xyz.")
    tampered[5] = json.dumps(entry)
    export.write_text("\n".join(tampered) + "\n")
    code, report = verify_export()
    assert code == 1 and report["first_mismatch"]["seq"] == entry["entry"]["seq"], report

    export.write_text("\n".join(lines[:3] + lines[4:]) + "\n")
    code, report = verify_export()
    assert (code, report["first_mismatch"]["problem"]) == (1, "missing"), report
    assert report["first_mismatch"]["seq"] == json.loads(lines[3])["entry"]["seq"]

    other_key = base64.b64encode(Signer.from_secret(new_secret()).public_key).decode()
    export.write_text("\n".join(lines) + "\n")
    code, report = verify_export("--public-key", other_key)
    assert (code, report["first_mismatch"]["problem"]) == (1, "head_signature"), report

    proof_file = tmp_path / "proof.json"
    run = audit.cli("proof", "6")
    assert run.returncode == 0, run.stderr
    proof_file.write_text(run.stdout)
    run = audit.cli("verify-proof", str(proof_file), "--public-key", audit.public_key)
    assert run.returncode == 0 and json.loads(run.stdout)["ok"], run.stdout


def read_event(subject: str, accessor: str, agency: str, minutes_ago: int) -> RecordAccessed:
    record = uuid.uuid4()
    return RecordAccessed(
        event_id=uuid.uuid4(),
        occurred_at=utc_now() - timedelta(minutes=minutes_ago),
        producer=agency,
        correlation_id=record,
        subject=subject,
        legal_basis=DutyBasis(duty=LegalDuty.LOG_REVIEW),
        accessor=accessor,
        accessor_role=PrincipalRole.CASEWORKER,
        resource=AccessedResource.REFERRAL,
        resource_id=record,
        purpose=AccessPurpose.CASEWORK,
    )


async def test_reads_are_kept_and_reviewed_by_subject_reader_and_period(audit):
    anna, omar = "a" * 64, "b" * 64
    reads = [
        read_event(anna, "sara.berg", "ale.social", 50),
        read_event(anna, "olle.ek", "af.goteborg", 40),
        read_event(omar, "sara.berg", "ale.social", 30),
        read_event(anna, "sara.berg", "ale.social", 5),
    ]
    await audit.publish(*reads)
    await audit.wait_for_size(len(reads))

    def ids(found: list[dict[str, Any]]) -> list[str]:
        return [r["event_id"] for r in found]

    by_subject = await audit.get("/audit/reads", subject=anna)
    assert ids(by_subject) == [str(r.event_id) for r in (reads[0], reads[1], reads[3])]
    assert by_subject[0]["accessor"] == "sara.berg" and by_subject[0]["agency"] == "ale.social"
    by_reader = await audit.get("/audit/reads", accessor="sara.berg")
    assert ids(by_reader) == [str(r.event_id) for r in (reads[0], reads[2], reads[3])]
    since = (utc_now() - timedelta(minutes=45)).isoformat()
    until = (utc_now() - timedelta(minutes=10)).isoformat()
    in_period = await audit.get("/audit/reads", since=since, until=until)
    assert ids(in_period) == [str(r.event_id) for r in (reads[1], reads[2])]
    # An auditor of one agency reviews the reads made by that agency's staff only.
    scoped = await audit.get("/audit/reads", "social.auditor", subject=anna)
    assert ids(scoped) == [str(r.event_id) for r in (reads[0], reads[3])]

    # The auditor's own reviews are reads too, and come back into the log.
    reviews = await eventually(
        lambda: audit.get("/audit/reads", accessor="auditor", subject=anna),
        lambda found: len(found) >= 1,
    )
    assert reviews[0]["resource"] == "audit_chain" and reviews[0]["purpose"] == "audit"
    assert reviews[0]["agency"] == "ivo.tillsyn"


async def test_a_chain_is_answered_only_once_its_read_is_committed_to_the_outbox(audit):
    requested = next(e for e in await a_logged_sample(audit) if e.event_type == "ReferralRequested")
    path = f"/audit/referrals/{requested.correlation_id}/chain"
    db = await asyncpg.connect(audit.dsn)
    try:

        async def staged() -> list[str]:
            rows = await db.fetch(
                "SELECT convert_from(payload, 'UTF8') AS event FROM outbox"
                " WHERE event_type = 'RecordAccessed' ORDER BY id"
            )
            return [json.loads(r["event"])["accessor"] for r in rows]

        before = await staged()
        # An auditor of an agency outside the chain is refused, and nothing is staged.
        refused = await audit.http.get(path, headers=audit.headers("kaa.auditor"))
        assert refused.status_code == 404
        assert await staged() == before
        # Seen from another connection the moment the answer arrives: already committed.
        assert (await audit.http.get(path, headers=audit.headers("social.auditor"))).is_success
        assert await staged() == [*before, "social.auditor"]
    finally:
        await db.close()


async def test_only_auditors_read_the_log_and_only_some_export_it(audit):
    await audit.wait_for_size(0)
    assert (await audit.http.get("/audit/head")).status_code == 401
    caseworker = audit.headers("ale.social.caseworker")
    assert (await audit.http.get("/audit/head", headers=caseworker)).status_code == 403
    scoped = audit.headers("social.auditor")
    assert (await audit.http.get("/audit/export", headers=scoped)).status_code == 403
    assert (await audit.http.get("/audit/head", headers=scoped)).status_code == 200
    missing = await audit.http.get(f"/audit/referrals/{uuid.uuid4()}/chain", headers=scoped)
    assert missing.status_code == 404
    methods = {m for route in audit.app.routes for m in getattr(route, "methods", ())}
    assert methods <= {"GET", "HEAD"}, "the audit API changes nothing"
