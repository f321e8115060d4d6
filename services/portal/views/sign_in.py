"""Signing in with an API key, signing out, and choosing the language."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from contracts.codes import PrincipalRole
from services.portal.i18n import LANGUAGE_COOKIE, LANGUAGES
from services.portal.session import COOKIE, Seal, Session, maybe_signed_in
from services.portal.views.common import Settings, Upstream, page, safe_next, see_other

YEAR_S = 365 * 24 * 3600

MaybeSignedIn = Annotated[Session | None, Depends(maybe_signed_in)]


def home_of(session: Session) -> str:
    """Where a principal starts: auditors at the audit pages, everyone else at the inbox."""
    return "/audit" if session.principal.role is PrincipalRole.AUDITOR else "/inbox"


async def start(session: MaybeSignedIn) -> RedirectResponse:
    """The signed-in principal's start page, or the sign-in page."""
    return see_other(home_of(session) if session else "/sign-in")


async def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return page(request, "sign_in.html", next=safe_next(next, ""), refused=False)


async def sign_in(
    request: Request,
    services: Upstream,
    seal: Seal,
    settings: Settings,
    api_key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Resolve the key to a principal and keep both in the sealed session cookie."""
    principal = await services.whoami(api_key.strip())
    if principal is None:
        return page(request, "sign_in.html", 401, next=safe_next(next, ""), refused=True)
    session = Session(principal=principal, api_key=api_key.strip())
    answer = see_other(safe_next(next, home_of(session)))
    answer.set_cookie(
        COOKIE,
        seal.seal(session),
        max_age=settings.portal_session_max_age_s,
        httponly=True,
        samesite="strict",
        secure=settings.portal_secure_cookie,
    )
    return answer


async def sign_out() -> RedirectResponse:
    """Forget the session."""
    answer = see_other("/sign-in")
    answer.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return answer


async def choose_language(lang: str, next: str | None = None) -> RedirectResponse:
    """Remember the language chosen and go back to the page it was chosen on."""
    answer = see_other(safe_next(next))
    if lang in LANGUAGES:
        answer.set_cookie(LANGUAGE_COOKIE, lang, max_age=YEAR_S, samesite="lax")
    return answer


def router() -> APIRouter:
    """Routes for signing in and out and for the language switch."""
    routes = APIRouter()
    routes.get("/", include_in_schema=False)(start)
    routes.get("/sign-in", response_class=HTMLResponse)(sign_in_page)
    routes.post("/sign-in", response_model=None)(sign_in)
    routes.post("/sign-out")(sign_out)
    routes.get("/language")(choose_language)
    return routes
