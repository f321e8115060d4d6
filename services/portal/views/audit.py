"""Pages for auditors: the signed head, referral chains as trees with their verification, and
the read log. Everything comes from the audit service's API; what the auditor reads there is
logged by it as a read."""

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.features.proofs.heads import SignedTreeHead, decode_public_key
from services.portal import verification
from services.portal.session import Session
from services.portal.upstream import Services
from services.portal.verification import ChainVerification
from services.portal.views.common import (
    LOCAL_TIME,
    Auditor,
    Settings,
    Subject,
    Upstream,
    page,
    see_other,
)

# Proofs are fetched a few at a time: a long chain must not flood the audit service.
PROOF_CONCURRENCY = 4


async def trusted_key(settings: Settings) -> bytes | None:
    """FastAPI dependency: the log's public key, when one is configured."""
    key = settings.audit_public_key
    return decode_public_key(key) if key else None


TrustedKey = Annotated[bytes | None, Depends(trusted_key)]


async def _verify(
    services: Services, session: Session, chain: dict[str, Any], key: bytes | None
) -> ChainVerification:
    """Fetch each event's entry and inclusion proof and check them."""
    limit = asyncio.Semaphore(PROOF_CONCURRENCY)

    async def fetch(seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
        async with limit:
            proof = await services.get(session, services.audit, f"/audit/entries/{seq}/proof")
            entry = await services.get(session, services.audit, f"/audit/entries/{seq}")
            return proof, entry

    events = chain["events"]
    fetched = await asyncio.gather(*(fetch(e["seq"]) for e in events))
    checks = [
        verification.check_event(e["event_id"], proof, entry, key)
        for e, (proof, entry) in zip(events, fetched, strict=True)
    ]
    return verification.summarise(checks, [proof for proof, _ in fetched], key is not None)


def _day(text: str | None) -> date | None:
    """A date from a form field; None when empty or not a date."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _day_start(day: date | None, days_after: int = 0) -> str | None:
    """The start of a local day (or of a day after it) as an ISO instant, for the API."""
    if day is None:
        return None
    start = datetime.combine(day + timedelta(days=days_after), time(0), tzinfo=LOCAL_TIME)
    return start.isoformat()


async def audit_home(
    request: Request, session: Auditor, services: Upstream, key: TrustedKey, check: bool = False
) -> HTMLResponse:
    """The log's signed head, search forms and (on request) a check of the whole log."""
    head_json = await services.get(session, services.audit, "/audit/head")
    head = SignedTreeHead.from_json(head_json)
    checked = await services.get(session, services.audit, "/audit/verify") if check else None
    return page(
        request,
        "audit.html",
        head=head_json,
        signature_ok=head.verify(key),
        key_pinned=key is not None,
        checked=checked,
    )


async def find_chain(referral: Annotated[str, Query(max_length=64)]) -> RedirectResponse:
    """The chain form's target: the chain page of the referral id given."""
    try:
        return see_other(f"/audit/referrals/{UUID(referral.strip())}")
    except ValueError:
        return see_other("/audit")


async def find_subject(subject: Annotated[str, Query(max_length=64)]) -> RedirectResponse:
    """The subject form's target: the page of every chain about the pseudonym given."""
    return see_other(f"/audit/subjects/{quote(subject.strip(), safe='')}")


async def chain(
    request: Request, session: Auditor, services: Upstream, key: TrustedKey, referral_id: UUID
) -> HTMLResponse:
    """A referral's chain as a tree, each event with whether it is proven in the log."""
    found = await services.get(session, services.audit, f"/audit/referrals/{referral_id}/chain")
    checked = await _verify(services, session, found, key)
    return page(request, "chain.html", chains=[(found, checked)], title_id=str(referral_id))


async def subject_chains(
    request: Request, session: Auditor, services: Upstream, key: TrustedKey, subject: Subject
) -> HTMLResponse:
    """Every chain about a subject, each verified."""
    found = await services.get(session, services.audit, f"/audit/subjects/{subject}/chains")
    checked = [await _verify(services, session, c, key) for c in found]
    return page(
        request, "chain.html", chains=list(zip(found, checked, strict=True)), subject=subject
    )


async def reads(
    request: Request,
    session: Auditor,
    services: Upstream,
    subject: str | None = None,
    accessor: str | None = None,
    agency: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> HTMLResponse:
    """Log review: who read whose records, filtered by person, reader, agency, period
    (whole local days, `until` included)."""
    first, last = _day(since), _day(until)
    params = {
        "subject": subject or None,
        "accessor": accessor or None,
        "agency": agency or None,
        "since": _day_start(first),
        "until": _day_start(last, days_after=1),
        "limit": 500,
    }
    found = await services.get(
        session,
        services.audit,
        "/audit/reads",
        {k: v for k, v in params.items() if v is not None},
    )
    return page(
        request,
        "reads.html",
        reads=found,
        filters={
            "subject": subject or "",
            "accessor": accessor or "",
            "agency": agency or "",
            "since": first.isoformat() if first else "",
            "until": last.isoformat() if last else "",
        },
    )


def router() -> APIRouter:
    """Routes of the auditor pages."""
    routes = APIRouter(prefix="/audit")
    routes.get("", response_class=HTMLResponse)(audit_home)
    routes.get("/chain")(find_chain)
    routes.get("/subject")(find_subject)
    routes.get("/referrals/{referral_id}", response_class=HTMLResponse)(chain)
    routes.get("/subjects/{subject}", response_class=HTMLResponse)(subject_chains)
    routes.get("/reads", response_class=HTMLResponse)(reads)
    return routes
