"""HTTP entry points of the audit service: read-only, for auditors only.

Every answer that shows a person's records (chains, reads, an entry) is itself logged as a
read (RecordAccessed, purpose audit), staged in the outbox in the read's own transaction and
committed before it is given: auditors never change anything, but what they look at is on the
record too. An auditor scoped to one agency sees the chains and entries that agency took part
in and the reads made by its staff; one with `all_agencies` sees everything and may export
the whole log. Heads, proofs and verification reveal only
hashes and positions, so every auditor may have them.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from contracts.codes import AccessedResource, PrincipalRole
from services.audit import chains
from services.audit.chains import Chain
from services.audit.schemas import (
    ConsistencyProofView,
    EntryView,
    HeadView,
    InclusionProofView,
    ReadView,
    VerificationView,
)
from services.audit.service import AuditLog, NotInLog
from services.kit.access_log import log_reads
from services.kit.auth import Principal
from services.kit.database import Connection
from services.kit.dependencies import Caller, Settings
from services.kit.provided import provided
from services.kit.settings import ServiceSettings

Format = Literal["json", "text"]
# Entries are numbered by a PostgreSQL bigint.
Seq = Annotated[int, Path(ge=0, le=2**63 - 1)]


async def auditor(principal: Caller) -> Principal:
    """FastAPI dependency: the caller, who must be an auditor (async: no worker thread)."""
    if principal.role is not PrincipalRole.AUDITOR:
        raise HTTPException(403, f"{principal.id} is not an auditor")
    return principal


Auditor = Annotated[Principal, Depends(auditor)]
Log = Annotated[AuditLog, Depends(provided(AuditLog))]


async def _log_reads(
    conn: Connection,
    settings: ServiceSettings,
    principal: Principal,
    records: Iterable[tuple[str, UUID | None]],
) -> None:
    """Stage the reads in the read's own transaction (`AuditLog.reading`)."""
    await log_reads(
        conn, principal, None, AccessedResource.AUDIT_CHAIN, records, settings.kafka.topic_prefix
    )


def _agencies(chain: Chain) -> set[str]:
    return {a for r in chain.referrals for a in (r.sender, r.receiver) if a is not None}


def _chain_records(chain: Chain) -> list[tuple[str, UUID | None]]:
    return [(r.subject, UUID(r.referral_id)) for r in chain.referrals if r.subject is not None]


async def head(log: Log, _: Auditor) -> HeadView:
    """The latest signed tree head."""
    return HeadView.of(await log.head())


async def published_heads(
    log: Log, _: Auditor, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[HeadView]:
    """Signed heads published so far, newest first."""
    return [HeadView.of(h) for h in await log.published_heads(limit)]


async def entry(seq: Seq, log: Log, settings: Settings, principal: Auditor) -> EntryView:
    """One entry with everything its leaf hash covers."""
    async with log.reading() as conn:
        found = await log.entry(conn, seq)
        event = json.loads(found.event)
        if not principal.all_agencies and principal.agency not in chains.parties(event):
            raise NotInLog(f"no entry {seq} for {principal.agency}")
        read = (event["subject"], UUID(event["correlation_id"]))
        await _log_reads(conn, settings, principal, [read])
    return EntryView.of(found)


async def inclusion_proof(
    seq: Seq,
    log: Log,
    _: Auditor,
    tree_size: Annotated[int | None, Query(ge=1)] = None,
) -> InclusionProofView:
    """Proof that entry `seq` is in the log (of `tree_size` entries; default: now)."""
    return InclusionProofView.of(await log.inclusion_proof(seq, tree_size))


async def consistency_proof(
    log: Log,
    _: Auditor,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int, Query(ge=1)],
) -> ConsistencyProofView:
    """Proof that the log of `second` entries extends the log of `first` entries."""
    proof = await log.consistency_proof(first, second)
    return ConsistencyProofView(first=first, second=second, proof=[h.hex() for h in proof])


async def verify(
    log: Log,
    _: Auditor,
    start: Annotated[int, Query(ge=0)] = 0,
    end: Annotated[int | None, Query(ge=0)] = None,
) -> VerificationView:
    """Verify the whole log (or entries [start, end)); name the first entry that fails."""
    return VerificationView.of(await log.verify(start, end))


async def export(log: Log, principal: Auditor) -> StreamingResponse:
    """The whole log as JSON lines, the signed head first (auditors of all agencies)."""
    if not principal.all_agencies:
        raise HTTPException(403, "exporting the log needs an auditor of all agencies")
    return StreamingResponse(log.export(), media_type="application/x-ndjson")


async def referral_chain(
    referral_id: UUID, log: Log, settings: Settings, principal: Auditor, format: Format = "json"
) -> object:
    """A referral's whole chain: its parents and children by redirect, every event in
    causal order with producer, legal basis, timestamps, cause and resulting state."""
    async with log.reading() as conn:
        chain = await log.chain(conn, referral_id)
        if not principal.all_agencies and principal.agency not in _agencies(chain):
            raise NotInLog(f"no events about referral {referral_id} for {principal.agency}")
        await _log_reads(conn, settings, principal, _chain_records(chain))
    return PlainTextResponse(chains.render(chain)) if format == "text" else chain


async def subject_chains(
    subject: str, log: Log, settings: Settings, principal: Auditor, format: Format = "json"
) -> object:
    """Every chain about a subject, oldest first."""
    async with log.reading() as conn:
        found = [
            c
            for c in await log.subject_chains(conn, subject)
            if principal.all_agencies or principal.agency in _agencies(c)
        ]
        read = [r for c in found for r in _chain_records(c)]
        await _log_reads(conn, settings, principal, read)
    if format == "text":
        return PlainTextResponse("\n".join(chains.render(c) for c in found))
    return found


async def reads(
    log: Log,
    settings: Settings,
    principal: Auditor,
    subject: str | None = None,
    accessor: str | None = None,
    agency: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ReadView]:
    """Log review: who read which person's records, by subject, reader, agency, period."""
    if not principal.all_agencies:
        if agency not in (None, principal.agency):
            raise HTTPException(403, f"{principal.id} reviews reads at {principal.agency}")
        agency = principal.agency
    async with log.reading() as conn:
        found = await log.reads(conn, subject, accessor, agency, since, until, limit)
        await _log_reads(conn, settings, principal, [(r.event["subject"], None) for r in found])
    return [ReadView.of(r) for r in found]


def audit_router() -> APIRouter:
    """Routes for auditors: signed heads, proofs, verification, export, chains, reads."""
    router = APIRouter(prefix="/audit", tags=["audit"])
    router.get("/head")(head)
    router.get("/heads")(published_heads)
    router.get("/entries/{seq}")(entry)
    router.get("/entries/{seq}/proof")(inclusion_proof)
    router.get("/consistency")(consistency_proof)
    router.get("/verify")(verify)
    router.get("/export")(export)
    router.get("/referrals/{referral_id}/chain", response_model=Chain)(referral_chain)
    router.get("/subjects/{subject}/chains", response_model=list[Chain])(subject_chains)
    router.get("/reads")(reads)
    return router
