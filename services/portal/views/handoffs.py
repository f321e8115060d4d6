"""Pages for caseworkers: the inbox (live), a handoff and its actions, a new referral, a
subject's timeline. Each page reads from, and each form writes to, the service that hosts
the caseworker's agency."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from contracts.codes import (
    AgencyKind,
    ConcernCode,
    DataCategory,
    DropoutReason,
    HandoffKind,
    ReferralReason,
)
from contracts.envelope import DisclosureProvision, LegalDuty
from contracts.lifecycle import ReferralState
from services.kit.agencies import Agency, AgencyRegistry
from services.portal import actions
from services.portal.session import Seal, Session, session_seconds_left
from services.portal.upstream import ServiceRefused, Services
from services.portal.views.common import (
    PSEUDONYM,
    Caseworker,
    Subject,
    Upstream,
    page,
    see_other,
    texts,
)
from services.portal.views.consents import subject_consents

# What a handoff's page confirms besides its own actions: it was sent, reported, redirected.
DONE_ELSEWHERE = ("sent", "reported", "redirect")
Role = Annotated[str, Query(pattern="^(receiver|sender)$")]


def _state(status: str | None) -> str | None:
    """A status filter, if it names a state."""
    return status if status in set(ReferralState) else None


async def _handoffs(
    services: Services, session: Session, role: str, status: str | None, mine: bool
) -> list[dict[str, Any]]:
    """The agency's received (or sent) handoffs; an unknown status filters nothing."""
    agency = session.principal.agency
    params: dict[str, Any] = {"role": role}
    if _state(status):
        params["status"] = status
    if mine:
        params["caseworker"] = session.principal.id
    found: list[dict[str, Any]] = await services.get_own(
        session, f"/agencies/{agency}/inbox", params
    )
    return found


async def _inbox_page(
    request: Request,
    services: Services,
    session: Session,
    role: str,
    status: str | None,
    mine: bool,
) -> HTMLResponse:
    handoffs = await _handoffs(services, session, role, status, mine)
    return page(
        request,
        "inbox.html",
        handoffs=handoffs,
        role=role,
        status=_state(status),
        mine=mine,
        states=[s.value for s in ReferralState],
    )


async def inbox(
    request: Request,
    session: Caseworker,
    services: Upstream,
    status: str | None = None,
    mine: bool = False,
) -> HTMLResponse:
    """Handoffs received by the caseworker's agency; updated live."""
    return await _inbox_page(request, services, session, "receiver", status, mine)


async def sent(
    request: Request,
    session: Caseworker,
    services: Upstream,
    status: str | None = None,
    mine: bool = False,
) -> HTMLResponse:
    """Handoffs sent by the caseworker's agency; updated live as receivers act on them."""
    return await _inbox_page(request, services, session, "sender", status, mine)


async def inbox_rows(
    request: Request,
    session: Caseworker,
    services: Upstream,
    role: Role = "receiver",
    status: str | None = None,
    mine: bool = False,
) -> HTMLResponse:
    """The inbox table's rows alone, for the live update."""
    handoffs = await _handoffs(services, session, role, status, mine)
    return page(request, "_rows.html", handoffs=handoffs, role=role)


async def inbox_stream(
    request: Request, session: Caseworker, services: Upstream, seal: Seal
) -> StreamingResponse:
    """The agency's live notifications, relayed from its service (a browser's EventSource
    cannot send the API key, so it asks the portal with its session cookie)."""
    agency = session.principal.agency
    answer = await services.open_stream(
        session,
        services.of_agency(agency),
        f"/agencies/{agency}/notifications/stream",
        request.headers.get("last-event-id"),
    )

    # The stream ends with the session, so that a page left open cannot outlive it:
    # the browser's reconnection then finds no session and the page asks for a sign-in.
    ends_at = asyncio.get_running_loop().time() + session_seconds_left(request, seal)

    async def relay() -> AsyncIterator[bytes]:
        chunks = answer.aiter_raw()
        try:
            while True:
                # Bounded per chunk, never across a yield (a timeout must not fire
                # while the response is sending a chunk, outside this frame).
                try:
                    async with asyncio.timeout_at(ends_at):
                        chunk = await anext(chunks)
                except (StopAsyncIteration, TimeoutError):
                    return
                yield chunk
        finally:
            await answer.aclose()

    return StreamingResponse(
        relay(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _referral_page(
    request: Request,
    services: Services,
    session: Session,
    referral_id: UUID,
    done: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    agency = session.principal.agency
    handoff = await services.get_own(
        session,
        f"/referrals/{referral_id}",
        {"agency": agency},
    )
    others = (agency, handoff["sender"])
    return page(
        request,
        "referral.html",
        status_code,
        handoff=handoff,
        offered=actions.offered(handoff["allowed_actions"]),
        # A rejected or failed referral may be passed on, as a new referral, to another
        # agency; on the same legal basis, which must also cover that agency.
        redirect_to=services.registry.receivers(HandoffKind.REFERRAL, others)
        if actions.REDIRECT in handoff["allowed_actions"]
        else [],
        reasons=[r.value for r in ReferralReason],
        categories=[c.value for c in DataCategory],
        done=done if done in actions.BY_PATH or done in DONE_ELSEWHERE else None,
        error=error,
    )


async def _referral_form(
    request: Request,
    services: Services,
    session: Session,
    subject: str | None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    agency = session.principal.agency
    consents: list[dict[str, Any]] = []
    if subject is not None and PSEUDONYM.match(subject):
        # What the agency may refer on: the consents it recorded that are in force.
        consents = [
            c
            for c in await subject_consents(services, session, subject)
            if c["recorded_by"] == agency and c["standing"] == "in_force"
        ]
    else:
        subject = None
    registry = services.registry

    def receiving(kind: HandoffKind) -> list[Agency]:
        return registry.receivers(kind, {agency})

    own = registry.get(agency)
    return page(
        request,
        "new_referral.html",
        status_code,
        subject=subject,
        consents=consents,
        receivers=receiving(HandoffKind.REFERRAL),
        reasons=[r.value for r in ReferralReason],
        categories=[c.value for c in DataCategory],
        provisions=[p.value for p in DisclosureProvision],
        # A school's own duties: reports that need no consent (SoL 14:1, SkolL 29:9).
        duties=own is not None and own.kind is AgencyKind.SCHOOL,
        social_services=receiving(HandoffKind.CONCERN_REPORT),
        kaa_units=receiving(HandoffKind.DROPOUT_REPORT),
        concerns=[c.value for c in ConcernCode],
        dropout_reasons=[r.value for r in DropoutReason],
        concern_duty=LegalDuty.CONCERN_REPORT.value,
        kaa_duty=LegalDuty.KAA_NOTIFICATION.value,
        error=error,
    )


async def new_referral(
    request: Request, session: Caseworker, services: Upstream, subject: str | None = None
) -> HTMLResponse:
    """The referral form: first who it is about, then to whom, why and on what basis."""
    return await _referral_form(request, services, session, subject)


async def choose_person(
    request: Request,
    session: Caseworker,
    services: Upstream,
    person: Annotated[str, Form(max_length=64)],
) -> HTMLResponse | RedirectResponse:
    """Turn a personnummer into the pseudonym used for the person (registering it at the
    agency's own service); a pseudonym is taken as it is. The personnummer is posted,
    never put in an address."""
    person = person.strip()
    if PSEUDONYM.match(person):
        return see_other(f"/referrals/new?subject={person}")
    agency = session.principal.agency
    try:
        registered = await services.post_own(
            session,
            "/subjects",
            {"agency": agency, "personnummer": person},
        )
    except ServiceRefused as refused:
        return await _referral_form(
            request, services, session, None, refused.detail, refused.status
        )
    return see_other(f"/referrals/new?subject={registered['subject']}")


async def send_referral(
    request: Request,
    session: Caseworker,
    services: Upstream,
    subject: Annotated[str, Form(pattern=PSEUDONYM.pattern)],
    receiver: Annotated[str, Form()],
    reason: Annotated[ReferralReason, Form()],
    basis: Annotated[str, Form()],
    data_categories: Annotated[list[DataCategory], Form()],
    respond_within_days: Annotated[int, Form(ge=0, le=90)] = 14,
) -> HTMLResponse | RedirectResponse:
    """Send the referral from the caseworker's agency."""
    kind, _, value = basis.partition(":")
    legal_basis = (
        {"kind": "consent", "consent_id": value}
        if kind == "consent"
        else {"kind": "necessary_disclosure", "provision": value}
    )
    agency = session.principal.agency
    body = {
        "sender": agency,
        "receiver": receiver,
        "subject": subject,
        "reason": reason.value,
        "data_categories": [c.value for c in data_categories],
        "legal_basis": legal_basis,
        "respond_within_days": respond_within_days,
    }
    try:
        sent = await services.post_own(session, "/referrals", body)
    except ServiceRefused as refused:
        return await _referral_form(
            request, services, session, subject, refused.detail, refused.status
        )
    return see_other(f"/referrals/{sent['referral_id']}?done=sent")


async def _report(
    request: Request,
    services: Services,
    session: Session,
    subject: str,
    path: str,
    body: dict[str, Any],
) -> HTMLResponse | RedirectResponse:
    """Send one of the school's reports; the form again if the service refuses it."""
    agency = session.principal.agency
    try:
        sent = await services.post_own(
            session,
            path,
            {"school": agency, "subject": subject, **body},
        )
    except ServiceRefused as refused:
        return await _referral_form(
            request, services, session, subject, refused.detail, refused.status
        )
    return see_other(f"/referrals/{sent['referral_id']}?done=reported")


def _municipality_of(registry: AgencyRegistry, agency: str) -> str:
    found = registry.get(agency)
    return found.municipality if found is not None else ""


async def report_concern(
    request: Request,
    session: Caseworker,
    services: Upstream,
    subject: Annotated[str, Form(pattern=PSEUDONYM.pattern)],
    social_services: Annotated[str, Form()],
    concern: Annotated[ConcernCode, Form()],
    subject_is_child: Annotated[bool, Form()],
) -> HTMLResponse | RedirectResponse:
    """Report concern about a child to the social services of a municipality (a duty:
    no consent)."""
    body = {
        "municipality": _municipality_of(services.registry, social_services),
        "concern": concern.value,
        "subject_is_child": subject_is_child,
    }
    return await _report(request, services, session, subject, "/concern-reports", body)


async def report_dropout(
    request: Request,
    session: Caseworker,
    services: Upstream,
    subject: Annotated[str, Form(pattern=PSEUDONYM.pattern)],
    kaa_unit: Annotated[str, Form()],
    reason: Annotated[DropoutReason, Form()],
    left_on: Annotated[date, Form()],
    under_20: Annotated[bool, Form()],
) -> HTMLResponse | RedirectResponse:
    """Tell the home municipality's KAA unit that a student under 20 left school (a duty:
    no consent)."""
    body = {
        "home_municipality": _municipality_of(services.registry, kaa_unit),
        "reason": reason.value,
        "left_on": left_on.isoformat(),
        "under_20": under_20,
    }
    return await _report(request, services, session, subject, "/dropout-reports", body)


async def referral(
    request: Request,
    session: Caseworker,
    services: Upstream,
    referral_id: UUID,
    done: str | None = None,
) -> HTMLResponse:
    """One handoff, with a form for each thing the agency may do next."""
    return await _referral_page(request, services, session, referral_id, done)


async def redirect(
    request: Request,
    session: Caseworker,
    services: Upstream,
    referral_id: UUID,
    receiver: Annotated[str, Form()],
    reason: Annotated[ReferralReason, Form()],
    data_categories: Annotated[list[DataCategory], Form()],
) -> HTMLResponse | RedirectResponse:
    """Pass a rejected or failed referral on to another agency; show the new referral."""
    agency = session.principal.agency
    body = {
        "agency": agency,
        "receiver": receiver,
        "reason": reason.value,
        "data_categories": [c.value for c in data_categories],
    }
    path = f"/referrals/{referral_id}/redirect"
    try:
        opened = await services.post_own(session, path, body)
    except ServiceRefused as refused:
        return await _referral_page(
            request, services, session, referral_id, error=refused.detail,
            status_code=refused.status,
        )  # fmt: skip
    return see_other(f"/referrals/{opened['referral_id']}?done=redirect")


async def act(
    request: Request,
    session: Caseworker,
    services: Upstream,
    referral_id: UUID,
    path: str,
    value: Annotated[str | None, Form(max_length=64)] = None,
) -> HTMLResponse | RedirectResponse:
    """Do one action on the handoff, then show it again."""
    action = actions.BY_PATH.get(path)
    body = actions.body_of(action, session.principal.agency, value) if action else None
    if action is None or body is None:
        return await _referral_page(
            request, services, session, referral_id, error=texts(request)("field.choose"),
            status_code=422,
        )  # fmt: skip
    try:
        await services.post_own(session, f"/referrals/{referral_id}/{path}", body)
    except ServiceRefused as refused:
        return await _referral_page(
            request, services, session, referral_id, error=refused.detail,
            status_code=refused.status,
        )  # fmt: skip
    return see_other(f"/referrals/{referral_id}?done={path}")


async def timeline(
    request: Request, session: Caseworker, services: Upstream, subject: Subject
) -> Response:
    """Every handoff about the subject that the agency may see, across agencies."""
    agency = session.principal.agency
    entries = await services.get_own(
        session,
        f"/agencies/{agency}/subjects/{subject}/timeline",
    )
    return page(request, "timeline.html", subject=subject, entries=entries)


def router() -> APIRouter:
    """Routes of the caseworker pages."""
    routes = APIRouter()
    routes.get("/inbox", response_class=HTMLResponse)(inbox)
    routes.get("/sent", response_class=HTMLResponse)(sent)
    routes.get("/inbox/rows", response_class=HTMLResponse)(inbox_rows)
    routes.get("/inbox/stream")(inbox_stream)
    routes.get("/referrals/new", response_class=HTMLResponse)(new_referral)
    routes.post("/referrals/new/person", response_model=None)(choose_person)
    routes.post("/referrals", response_model=None)(send_referral)
    routes.post("/reports/concern", response_model=None)(report_concern)
    routes.post("/reports/dropout", response_model=None)(report_dropout)
    routes.get("/referrals/{referral_id}", response_class=HTMLResponse)(referral)
    routes.post("/referrals/{referral_id}/redirect", response_model=None)(redirect)
    routes.post("/referrals/{referral_id}/{path}", response_model=None)(act)
    routes.get("/subjects/{subject}/timeline", response_class=HTMLResponse)(timeline)
    return routes
