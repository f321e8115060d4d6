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

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

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
from services.kit.auth import Principal, current_principal
from services.kit.database import Connection
from services.kit.provided import provided_in
from services.kit.settings import ServiceSettings

Format = Literal["json", "text"]
# Entries are numbered by a PostgreSQL bigint.
Seq = Annotated[int, Path(ge=0, le=2**63 - 1)]


async def auditor(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """FastAPI dependency: the caller, who must be an auditor (async: no worker thread)."""
    if principal.role is not PrincipalRole.AUDITOR:
        raise HTTPException(403, f"{principal.id} is not an auditor")
    return principal


Auditor = Annotated[Principal, Depends(auditor)]


def log_of(request: Request) -> AuditLog:
    """The service's audit log."""
    log: AuditLog = provided_in(request.app, AuditLog)
    return log


def install_error_handler(app: FastAPI) -> None:
    """Map what is not in the log to 404."""

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "not_found", "detail": str(exc)}, status_code=404)

    app.add_exception_handler(NotInLog, not_found)


async def _log_reads(
    conn: Connection,
    request: Request,
    principal: Principal,
    records: Iterable[tuple[str, UUID | None]],
) -> None:
    """Stage the reads in the read's own transaction (`AuditLog.reading`)."""
    settings = provided_in(request.app, ServiceSettings)
    await log_reads(
        conn, principal, None, AccessedResource.AUDIT_CHAIN, records, settings.kafka.topic_prefix
    )


def _agencies(chain: Chain) -> set[str]:
    return {a for r in chain.referrals for a in (r.sender, r.receiver) if a is not None}


def _chain_records(chain: Chain) -> list[tuple[str, UUID | None]]:
    return [(r.subject, UUID(r.referral_id)) for r in chain.referrals if r.subject is not None]


def audit_router() -> APIRouter:
    """Routes for auditors: signed heads, proofs, verification, export, chains, reads."""
    router = APIRouter(prefix="/audit", tags=["audit"])

    @router.get("/head")
    async def head(request: Request, _: Auditor) -> HeadView:
        """The latest signed tree head."""
        return HeadView.of(await log_of(request).head())

    @router.get("/heads")
    async def published_heads(
        request: Request, _: Auditor, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[HeadView]:
        """Signed heads published so far, newest first."""
        return [HeadView.of(h) for h in await log_of(request).published_heads(limit)]

    @router.get("/entries/{seq}")
    async def entry(seq: Seq, request: Request, principal: Auditor) -> EntryView:
        """One entry with everything its leaf hash covers."""
        log = log_of(request)
        async with log.reading() as conn:
            found = await log.entry(conn, seq)
            event = json.loads(found.event)
            if not principal.all_agencies and principal.agency not in chains.parties(event):
                raise NotInLog(f"no entry {seq} for {principal.agency}")
            read = (event["subject"], UUID(event["correlation_id"]))
            await _log_reads(conn, request, principal, [read])
        return EntryView.of(found)

    @router.get("/entries/{seq}/proof")
    async def inclusion_proof(
        seq: Seq,
        request: Request,
        _: Auditor,
        tree_size: Annotated[int | None, Query(ge=1)] = None,
    ) -> InclusionProofView:
        """Proof that entry `seq` is in the log (of `tree_size` entries; default: now)."""
        return InclusionProofView.of(await log_of(request).inclusion_proof(seq, tree_size))

    @router.get("/consistency")
    async def consistency_proof(
        request: Request,
        _: Auditor,
        first: Annotated[int, Query(ge=1)],
        second: Annotated[int, Query(ge=1)],
    ) -> ConsistencyProofView:
        """Proof that the log of `second` entries extends the log of `first` entries."""
        proof = await log_of(request).consistency_proof(first, second)
        return ConsistencyProofView(first=first, second=second, proof=[h.hex() for h in proof])

    @router.get("/verify")
    async def verify(
        request: Request,
        _: Auditor,
        start: Annotated[int, Query(ge=0)] = 0,
        end: Annotated[int | None, Query(ge=0)] = None,
    ) -> VerificationView:
        """Verify the whole log (or entries [start, end)); name the first entry that fails."""
        return VerificationView.of(await log_of(request).verify(start, end))

    @router.get("/export")
    async def export(request: Request, principal: Auditor) -> StreamingResponse:
        """The whole log as JSON lines, the signed head first (auditors of all agencies)."""
        if not principal.all_agencies:
            raise HTTPException(403, "exporting the log needs an auditor of all agencies")
        return StreamingResponse(log_of(request).export(), media_type="application/x-ndjson")

    @router.get("/referrals/{referral_id}/chain", response_model=Chain)
    async def referral_chain(
        referral_id: UUID, request: Request, principal: Auditor, format: Format = "json"
    ) -> object:
        """A referral's whole chain: its parents and children by redirect, every event in
        causal order with producer, legal basis, timestamps, cause and resulting state."""
        log = log_of(request)
        async with log.reading() as conn:
            chain = await log.chain(conn, referral_id)
            if not principal.all_agencies and principal.agency not in _agencies(chain):
                raise NotInLog(f"no events about referral {referral_id} for {principal.agency}")
            await _log_reads(conn, request, principal, _chain_records(chain))
        return PlainTextResponse(chains.render(chain)) if format == "text" else chain

    @router.get("/subjects/{subject}/chains", response_model=list[Chain])
    async def subject_chains(
        subject: str, request: Request, principal: Auditor, format: Format = "json"
    ) -> object:
        """Every chain about a subject, oldest first."""
        log = log_of(request)
        async with log.reading() as conn:
            found = [
                c
                for c in await log.subject_chains(conn, subject)
                if principal.all_agencies or principal.agency in _agencies(c)
            ]
            read = [r for c in found for r in _chain_records(c)]
            await _log_reads(conn, request, principal, read)
        if format == "text":
            return PlainTextResponse("\n".join(chains.render(c) for c in found))
        return found

    @router.get("/reads")
    async def reads(
        request: Request,
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
        log = log_of(request)
        async with log.reading() as conn:
            found = await log.reads(conn, subject, accessor, agency, since, until, limit)
            await _log_reads(conn, request, principal, [(r.event["subject"], None) for r in found])
        return [ReadView.of(r) for r in found]

    return router
