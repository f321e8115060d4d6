"""The web interface in a real browser: Playwright drives Debian's Chromium against the portal
and every service, each an OS process on the real stack.

A school caseworker sends a referral through the forms; the social caseworker's open inbox
shows it without a reload; they accept it, and the school's open list of sent handoffs shows
the change, also without a reload; an auditor opens the referral's chain and sees it verified
against the signed log. Every main page passes axe-core with no serious or critical
violation, works by keyboard, and speaks Swedish and English. Screenshots of each page are
kept in build/ui/.
"""

import random
import re
import shutil
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
from axe_playwright_python.sync_playwright import Axe
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from chaos.fuzz import FuzzReport, fuzz_api
from deploy.browser import CHROMIUM, LAUNCH_ARGS
from deploy.services import ServiceProcess, portal_process
from services.kit.identity import luhn_ok
from services.portal.views import routers
from tests.e2e.agencies import ALE_SOCIAL, SCHOOL

pytestmark = [pytest.mark.e2e, pytest.mark.ui]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "ui"
SCHOOL_WORKER = f"{SCHOOL}.caseworker"
SOCIAL_WORKER = f"{ALE_SOCIAL}.caseworker"
BLOCKING = {"serious", "critical"}
WAIT_MS = 30_000


def new_personnummer() -> str:
    """A synthetic, Luhn-valid personnummer of someone aged about 17."""
    born = date.today() - timedelta(days=17 * 365 + random.randrange(300))
    head = born.strftime("%y%m%d") + f"{random.randrange(1000):03d}"
    check = next(d for d in "0123456789" if luhn_ok(head + d))
    return f"{head[:6]}-{head[6:]}{check}"


@pytest.fixture(scope="module")
def stack(
    start_agencies, tmp_path_factory
) -> Iterator[tuple[dict[str, ServiceProcess], ServiceProcess]]:
    agencies = start_agencies()
    portal = portal_process(agencies, Path(tmp_path_factory.mktemp("portal")))
    portal.start()
    yield agencies, portal
    portal.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this run's pages
    with sync_playwright() as playwright:
        # A fresh profile per launch; never Playwright's own browser download.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(LAUNCH_ARGS)
        )
        yield launched
        launched.close()


@pytest.fixture
def contexts(browser) -> Iterator[list[BrowserContext]]:
    """Browser contexts (separate cookie jars) made by the test, closed after it."""
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def open_as(browser, contexts, portal, agencies, principal: str, lang: str = "sv") -> Page:
    """A page in a fresh context, signed in as `principal` through the sign-in form."""
    context = browser.new_context(
        locale="sv-SE" if lang == "sv" else "en-GB", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(WAIT_MS)
    contexts.append(context)
    page = context.new_page()
    page.goto(f"{portal.url}/sign-in")
    page.get_by_label("API-nyckel" if lang == "sv" else "API key").fill(
        agencies.api_keys[principal]
    )
    page.get_by_role("button", name="Logga in" if lang == "sv" else "Sign in").click()
    expect(page.locator("nav")).to_be_visible()
    return page


def keep(page: Page, name: str) -> None:
    """Save a screenshot of the whole page as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def accessible(page: Page, name: str) -> None:
    """axe-core finds no serious or critical violation on the page; keep a screenshot."""
    keep(page, name)
    results = Axe().run(page).response
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
    assert not blocking, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in blocking
    )


def mark_loaded(page: Page) -> None:
    """Wait for the live stream, then mark this page load: a reload would lose the mark."""
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    page.evaluate("window.samverkanLoad = 'kept'")


def not_reloaded(page: Page) -> bool:
    return page.evaluate("window.samverkanLoad") == "kept"


def record_consent(agencies, personnummer: str, recipients: list[str]) -> dict:
    """The school's admin system records the young person's consent (not a UI task)."""
    answer = httpx.post(
        agencies["school"].url + "/consents",
        json={
            "agency": SCHOOL,
            "personnummer": personnummer,
            "given_by": "subject",
            "method": "digital_signature",
            "recipients": recipients,
            "data_categories": ["attendance", "case_status"],
            "valid_until": "2030-01-01T00:00:00Z",
        },
        headers=agencies.headers(f"{SCHOOL}.agency_system"),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def referral_by_api(
    agencies, receiver: str = ALE_SOCIAL, also_consented: tuple[str, ...] = ()
) -> tuple[str, str]:
    """A referral sent by the school's admin system on the person's consent (to `receiver`
    and `also_consented`): (id, subject)."""
    consent = record_consent(agencies, new_personnummer(), [receiver, *also_consented])
    answer = httpx.post(
        agencies["school"].url + "/referrals",
        json={
            "sender": SCHOOL,
            "receiver": receiver,
            "subject": consent["subject"],
            "reason": "absence",
            "data_categories": ["attendance"],
            "legal_basis": {"kind": "consent", "consent_id": consent["consent_id"]},
        },
        headers=agencies.headers(f"{SCHOOL}.agency_system"),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["referral_id"], consent["subject"]


def act_by_api(agencies, referral_id: str, action: str, body: dict) -> None:
    """The social caseworker acts over the API, once the referral has reached social services
    (it travels there over Kafka)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        answer = httpx.post(
            f"{agencies['social'].url}/referrals/{referral_id}/{action}",
            json={"agency": ALE_SOCIAL, **body},
            headers=agencies.headers(SOCIAL_WORKER),
            timeout=30,
        )
        if answer.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # a poll interval, not a synchronisation
    assert answer.status_code == 200, answer.text


def send_referral_in_ui(page: Page, portal, personnummer: str) -> str:
    """Fill in the referral form as the school caseworker; the new referral's id."""
    page.goto(f"{portal.url}/referrals/new")
    page.get_by_label("Personnummer eller pseudonym").fill(personnummer)
    page.get_by_role("button", name="Fortsätt").click()
    form = page.get_by_role("form", name="Ny remiss")
    form.get_by_label("Mottagande myndighet").select_option(ALE_SOCIAL)
    form.get_by_label("Anledning").select_option("absence")
    form.get_by_role("checkbox", name="Närvaro").check()
    form.get_by_role("checkbox", name="Ärendestatus").check()
    consent = form.get_by_role("radio", name=re.compile("^Samtycke"))
    expect(consent).to_be_checked()
    form.get_by_role("button", name="Skicka remissen").click()
    expect(page.get_by_role("status")).to_contain_text("remissen skickades")
    return page.url.split("/referrals/")[1].split("?")[0]


def open_chain_when_recorded(page: Page, portal, referral_id: str, recorded: str) -> None:
    """Open the chain through the audit page's form; reload until the audit log (which
    follows the topics) holds what the selector `recorded` finds."""
    page.goto(f"{portal.url}/audit")
    page.get_by_label("Remissens id").fill(referral_id)
    page.get_by_role("button", name="Öppna").first.click()
    deadline = time.monotonic() + WAIT_MS / 1000
    while not page.locator(recorded).count():
        assert time.monotonic() < deadline, f"{recorded} never reached the audit chain"
        page.wait_for_timeout(300)  # a poll interval, not a synchronisation
        page.reload()


def test_a_referral_travels_live_from_school_to_social_services_and_is_verified(
    stack, browser, contexts
):
    agencies, portal = stack
    personnummer = new_personnummer()
    record_consent(agencies, personnummer, [ALE_SOCIAL])

    social = open_as(browser, contexts, portal, agencies, SOCIAL_WORKER)
    social.goto(f"{portal.url}/inbox")
    mark_loaded(social)

    school = open_as(browser, contexts, portal, agencies, SCHOOL_WORKER)
    referral_id = send_referral_in_ui(school, portal, personnummer)
    keep(school, "school-referral-sent")

    # The social caseworker's inbox shows it, from the live stream, without a reload.
    row = social.locator(f'tr[data-referral="{referral_id}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Ale gymnasium")
    assert not_reloaded(social)
    keep(social, "social-inbox-live")

    school.goto(f"{portal.url}/sent")
    mark_loaded(school)

    row.get_by_role("link").first.click()
    social.get_by_role("button", name="Acceptera").click()
    expect(social.get_by_test_id("state")).to_have_text("Accepterad")
    keep(social, "social-referral-accepted")

    # The school's list of sent handoffs shows the change live too.
    expect(school.locator(f'tr[data-referral="{referral_id}"]')).to_have_attribute(
        "data-state", "accepted"
    )
    assert not_reloaded(school)
    keep(school, "school-sent-live")

    auditor = open_as(browser, contexts, portal, agencies, "auditor")
    open_chain_when_recorded(
        auditor, portal, referral_id, 'li.event[data-event="ReferralAccepted"]'
    )
    verification = auditor.get_by_test_id("chain-verification")
    expect(verification).to_have_attribute("data-verified", "true")
    expect(verification).to_contain_text("Verifierad")
    assert auditor.locator('li.event[data-verified="false"]').count() == 0
    keep(auditor, "auditor-chain-verified")
    auditor.get_by_role("link", name="Granskning").click()
    auditor.get_by_role("button", name="Verifiera hela loggen").click()
    expect(auditor.get_by_test_id("log-check")).to_contain_text("Loggen är intakt")


def act(page: Page, button: str, field: str | None = None, value: str | None = None) -> None:
    """Use one of the handoff's action forms and wait for the confirmation."""
    form = page.get_by_role("form", name=button)
    if field is not None:
        form.get_by_label(field).select_option(value)
    form.get_by_role("button", name=button).click()
    expect(page.get_by_role("status")).to_contain_text("Klart")


def test_the_receiver_works_a_referral_to_its_outcome_with_coded_forms(stack, browser, contexts):
    agencies, portal = stack
    worked, _ = referral_by_api(agencies)
    refused, _ = referral_by_api(agencies, "goteborg.social", also_consented=(ALE_SOCIAL,))
    social = open_as(browser, contexts, portal, agencies, SOCIAL_WORKER)
    social.goto(f"{portal.url}/referrals/{worked}")
    act(social, "Acceptera")
    social.get_by_label("Handläggare (användar-id)").fill(SOCIAL_WORKER)
    act(social, "Tilldela handläggare")
    act(social, "Registrera kontaktförsök", "Kontaktväg", "phone")
    first_contact = social.get_by_role("form", name="Registrera första kontakt")
    first_contact.get_by_role("button").click()  # without a channel: the browser refuses
    assert first_contact.get_by_label("Kontaktväg").evaluate("e => e.validity.valueMissing")
    expect(social.get_by_test_id("state")).to_have_text("Accepterad")
    act(social, "Registrera första kontakt", "Kontaktväg", "meeting")
    act(social, "Pausa", "Anledning", "holiday")
    expect(social.get_by_test_id("state")).to_have_text("Pausad")
    act(social, "Återuppta")
    act(social, "Avsluta med utfall", "Utfall", "returned_to_studies")
    expect(social.get_by_test_id("state")).to_have_text("Avslutad")
    expect(social.get_by_text("Det finns inget din myndighet kan göra")).to_be_visible()

    social.get_by_role("link", name="Visa personens tidslinje").click()
    steps = social.locator("tbody tr")
    expect(steps).to_have_count(9)
    expect(steps.last).to_contain_text("Återgått till studier")

    mine = social.goto(f"{portal.url}/inbox?mine=true")
    assert mine is not None and mine.ok
    expect(social.locator(f'tr[data-referral="{worked}"]')).to_contain_text(SOCIAL_WORKER)

    gbg = open_as(browser, contexts, portal, agencies, "goteborg.social.caseworker")
    gbg.goto(f"{portal.url}/referrals/{refused}")
    act(gbg, "Avvisa", "Anledning", "wrong_municipality")
    expect(gbg.get_by_test_id("state")).to_have_text("Avvisad")
    # Passed on to the home municipality, on the same consent, which covers it too.
    redirect = gbg.get_by_role("form", name="Skicka vidare till annan myndighet")
    redirect.get_by_label("Mottagande myndighet").select_option(ALE_SOCIAL)
    redirect.get_by_label("Anledning").select_option("absence")
    redirect.get_by_role("checkbox", name="Närvaro").check()
    redirect.get_by_role("button").click()
    expect(gbg.get_by_role("status")).to_contain_text("Klart")
    expect(
        gbg.get_by_role("definition").filter(has_text="Ale kommun, socialtjänsten")
    ).to_have_count(1)

    # A report of concern needs no consent: the duty (SoL 14 kap. 1 §) is its basis.
    school = open_as(browser, contexts, portal, agencies, SCHOOL_WORKER)
    school.goto(f"{portal.url}/referrals/new")
    school.get_by_label("Personnummer eller pseudonym").fill(new_personnummer())
    school.get_by_role("button", name="Fortsätt").click()
    concern = school.get_by_role("form", name=re.compile("^Orosanmälan"))
    concern.get_by_label("Socialtjänst").select_option(ALE_SOCIAL)
    concern.get_by_label("Oron gäller").select_option("neglect")
    concern.get_by_label("Personen är under 18 år").check()
    concern.get_by_role("button", name="Gör orosanmälan").click()
    expect(school.get_by_role("status")).to_contain_text("anmälan skickades")
    reported = school.url.split("/referrals/")[1].split("?")[0]
    social.goto(f"{portal.url}/inbox")
    expect(social.locator(f'tr[data-referral="{reported}"]')).to_contain_text("Orosanmälan")
    social.goto(f"{portal.url}/referrals/{reported}")
    assert not social.get_by_role("button", name="Avvisa").count(), "a concern cannot be rejected"
    act(social, "Bekräfta orosanmälan")
    expect(social.get_by_test_id("state")).to_have_text("Accepterad")

    school.goto(f"{portal.url}/sent?status=rejected")
    expect(school.locator("tbody tr")).to_have_count(1)
    expect(school.locator(f'tr[data-referral="{refused}"]')).to_contain_text("Avvisad")

    # The auditor sees the redirect as a child in the referral's chain, every event verified.
    auditor = open_as(browser, contexts, portal, agencies, "auditor")
    child_received = '.tree .tree li.event[data-event="ReferralReceived"]'
    open_chain_when_recorded(auditor, portal, refused, child_received)
    expect(auditor.get_by_test_id("chain-verification")).to_have_attribute("data-verified", "true")
    expect(auditor.locator(".tree .tree .referral-line")).to_contain_text("Göteborgs Stad")
    keep(auditor, "auditor-chain-redirected")


def test_a_caseworker_records_a_consent_refers_on_it_and_withdraws_it(stack, browser, contexts):
    agencies, portal = stack
    school = open_as(browser, contexts, portal, agencies, SCHOOL_WORKER)
    school.goto(f"{portal.url}/referrals/new")
    school.get_by_label("Personnummer eller pseudonym").fill(new_personnummer())
    school.get_by_role("button", name="Fortsätt").click()
    form = school.get_by_role("form", name="Ny remiss")
    expect(form.get_by_role("radio", name=re.compile("^Samtycke"))).to_have_count(0)

    form.get_by_role("link", name="Samtycken för personen").click()
    record = school.get_by_role("form", name="Registrera ett samtycke")
    record.get_by_label("Lämnat av").select_option("guardian")
    record.get_by_label("Hur samtycket lämnades").select_option("written")
    record.get_by_role("checkbox", name="Ale kommun, socialtjänsten").check()
    record.get_by_role("checkbox", name="Närvaro").check()
    record.get_by_role("button", name="Registrera samtycket").click()
    expect(school.get_by_role("status")).to_contain_text("samtycket registrerades")
    row = school.locator("tr[data-consent]")
    expect(row).to_have_attribute("data-standing", "in_force")
    expect(row).to_contain_text("vårdnadshavare")
    keep(school, "consents-recorded")
    consents_page = school.url.split("?")[0]

    # The referral form offers it as the legal basis, and a referral goes out on it.
    school.get_by_role("link", name="Ny remiss för personen").click()
    form = school.get_by_role("form", name="Ny remiss")
    expect(form.get_by_role("radio", name=re.compile("^Samtycke"))).to_be_checked()
    form.get_by_label("Mottagande myndighet").select_option(ALE_SOCIAL)
    form.get_by_label("Anledning").select_option("absence")
    form.get_by_role("checkbox", name="Närvaro").check()
    form.get_by_role("button", name="Skicka remissen").click()
    expect(school.get_by_role("status")).to_contain_text("remissen skickades")

    school.goto(consents_page)
    school.get_by_role("button", name=re.compile("^Återkalla")).click()
    expect(school.get_by_role("status")).to_contain_text("samtycket återkallades")
    expect(school.locator("tr[data-consent]")).to_have_attribute("data-standing", "withdrawn")
    expect(school.get_by_role("button", name=re.compile("^Återkalla"))).to_have_count(0)
    school.get_by_role("link", name="Ny remiss för personen").click()
    form = school.get_by_role("form", name="Ny remiss")
    expect(form.get_by_role("radio", name=re.compile("^Samtycke"))).to_have_count(0)


def test_an_open_inbox_asks_for_a_new_sign_in_when_the_session_ends(
    stack, browser, contexts, tmp_path
):
    agencies, _ = stack
    short = portal_process(agencies, tmp_path)
    short.extra_env["SAMVERKAN_PORTAL_SESSION_MAX_AGE_S"] = "10"
    short.start()
    try:
        social = open_as(browser, contexts, short, agencies, SOCIAL_WORKER)
        social.goto(f"{short.url}/inbox")
        mark_loaded(social)
        # The live stream ends with the session; the page then asks for a sign-in that
        # returns to the inbox, instead of going on looking live.
        expect(social).to_have_url(f"{short.url}/sign-in?next=%2Finbox", timeout=40_000)
        expect(social.get_by_text("Du behöver logga in")).to_be_visible()
    finally:
        short.stop()


def test_every_main_page_passes_axe_in_swedish_and_english(stack, browser, contexts):
    agencies, portal = stack
    referral_id, subject = referral_by_api(agencies)
    act_by_api(agencies, referral_id, "accept", {})
    rejected, _ = referral_by_api(agencies)
    act_by_api(agencies, rejected, "reject", {"reason": "not_in_remit"})
    pages = {
        SCHOOL_WORKER: {
            "inbox": "/inbox",
            "sent": "/sent",
            "new-referral-person": "/referrals/new",
            "new-referral-form": f"/referrals/new?subject={subject}",
            "timeline": f"/subjects/{subject}/timeline",
            "consents": f"/subjects/{subject}/consents",
        },
        SOCIAL_WORKER: {
            "referral-actions": f"/referrals/{referral_id}",
            "referral-redirect": f"/referrals/{rejected}",
        },
        "auditor": {
            "audit": "/audit?check=true",
            "audit-subject-chains": f"/audit/subjects/{subject}",
            "read-log": f"/audit/reads?subject={subject}",
        },
    }
    # Every page in Swedish; the English text fits the same markup, so a few pages suffice.
    english = {"sign-in", "new-referral-form", "consents", "referral-actions", "audit"}
    for lang in ("sv", "en"):
        anonymous = browser.new_context(locale="sv-SE")
        contexts.append(anonymous)
        sign_in = anonymous.new_page()
        sign_in.goto(f"{portal.url}/sign-in?lang={lang}")
        expect(sign_in.locator("html")).to_have_attribute("lang", lang)
        accessible(sign_in, f"sign-in-{lang}")
        for principal, paths in pages.items():
            wanted = {n: p for n, p in paths.items() if lang == "sv" or n in english}
            if not wanted:
                continue
            page = open_as(browser, contexts, portal, agencies, principal)
            for name, path in wanted.items():
                answer = page.goto(f"{portal.url}{path}{'&' if '?' in path else '?'}lang={lang}")
                assert answer is not None and answer.ok, f"{path}: {answer and answer.status}"
                expect(page.locator("html")).to_have_attribute("lang", lang)
                accessible(page, f"{name}-{lang}")


def test_keyboard_only_sign_in_and_language_switch(stack, browser, contexts):
    agencies, portal = stack
    context = browser.new_context(locale="sv-SE")
    contexts.append(context)
    page = context.new_page()
    page.goto(f"{portal.url}/sign-in")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Hoppa till innehållet")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # hidden until focused, then shown
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    key = page.get_by_label("API-nyckel")
    expect(key).to_be_focused()
    outline = key.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none", "the focused field shows no focus ring"
    page.keyboard.type(agencies.api_keys[SOCIAL_WORKER])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Inkorg för Ale kommun, socialtjänsten"
    )

    page.get_by_role("link", name="In English").focus()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox of Ale kommun, socialtjänsten")
    page.get_by_role("link", name="New referral").click()  # the choice is kept
    expect(page.get_by_role("heading", level=1)).to_have_text("New referral")
    page.get_by_role("link", name="På svenska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ny remiss")


def test_the_portal_refuses_what_a_browser_must_not_do(stack):
    agencies, portal = stack
    with httpx.Client(base_url=portal.url, timeout=30) as http:
        anonymous = http.get("/inbox?status=received")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/sign-in?next=/inbox%3Fstatus%3Dreceived"
        assert "script-src 'self'" in anonymous.headers["content-security-policy"]

        wrong = http.post("/sign-in", data={"api_key": "not-a-key"})
        assert wrong.status_code == 401
        assert "samverkan_session" not in wrong.cookies

        signed = http.post("/sign-in", data={"api_key": agencies.api_keys["auditor"]})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert agencies.api_keys["auditor"] not in cookie, "the key must be sealed"
        assert http.get("/inbox").status_code == 403, "auditors have no inbox"
        assert http.get("/audit").status_code == 200

        forged = http.post(
            "/sign-out",
            headers={"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert forged.status_code == 403
        assert http.get("/audit").status_code == 200, "a cross-site post changed nothing"

        http.cookies.set("samverkan_session", cookie.split(";")[0].split("=", 1)[1][:-4] + "AAAA")
        assert http.get("/audit").status_code == 303, "a tampered cookie is no session"

    with httpx.Client(base_url=portal.url, timeout=30) as http:
        http.post("/sign-in", data={"api_key": agencies.api_keys[SCHOOL_WORKER]})
        assert http.get("/audit").status_code == 403, "caseworkers are not auditors"
        assert http.get("/inbox/rows?role=sender").status_code == 200


@pytest.mark.parametrize("principal", [SCHOOL_WORKER, "auditor"])
def test_the_portal_answers_generated_requests_without_a_server_error(stack, principal):
    """Every page and form of the portal, fuzzed from its OpenAPI document with a signed-in
    session: refusals are pages with a 4xx, never a server error."""
    agencies, portal = stack
    signed = httpx.post(
        f"{portal.url}/sign-in", data={"api_key": agencies.api_keys[principal]}, timeout=30
    )
    assert signed.status_code == 303
    cookie = {"Cookie": f"samverkan_session={signed.cookies['samverkan_session']}"}
    # The portal serves no OpenAPI document; its routes give the same one here.
    app = FastAPI()
    for router in routers():
        app.include_router(router)
    schema = schemathesis.openapi.from_dict(app.openapi())
    report = FuzzReport()
    agency = principal.rpartition(".")[0]
    fuzz_api(report, "portal", schema, portal.url, cookie, agency, examples=15)
    assert report.operations["portal"] >= 20, "the portal's OpenAPI document lists its pages"
    assert report.requests["portal"] >= report.operations["portal"]
    assert not report.server_errors, "\n".join(report.server_errors)
