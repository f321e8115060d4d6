"""Swedish and English text of the portal: one catalogue in code, Swedish first.

`MESSAGES` holds the interface's own text, `CODES` a label for every coded value the services
answer with (states, reasons, outcomes, event types, ...). A unit test checks that both
languages are complete and that every code of the contracts has a label.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

LANGUAGES: Final = ("sv", "en")
DEFAULT_LANGUAGE: Final = "sv"
LANGUAGE_COOKIE: Final = "samverkan_lang"

# key -> (Swedish, English); {name} fields are filled by `Texts.__call__`.
MESSAGES: Final[Mapping[str, tuple[str, str]]] = {
    "app.name": ("Samverkan", "Samverkan"),
    "app.tagline": ("Överlämningar mellan myndigheter", "Handoffs between agencies"),
    "skip": ("Hoppa till innehållet", "Skip to content"),
    "nav.label": ("Huvudmeny", "Main menu"),
    "nav.inbox": ("Inkorg", "Inbox"),
    "nav.sent": ("Skickade", "Sent"),
    "nav.new": ("Ny remiss", "New referral"),
    "nav.audit": ("Granskning", "Audit"),
    "nav.reads": ("Logg över läsningar", "Read log"),
    "lang.label": ("Språk", "Language"),
    "lang.other": ("In English", "På svenska"),
    "signed_in_as": ("Inloggad som {who}", "Signed in as {who}"),
    "sign_out": ("Logga ut", "Sign out"),
    "sign_in.title": ("Logga in", "Sign in"),
    "sign_in.intro": (
        "Logga in med din API-nyckel. Nyckeln sparas krypterad i en kaka som bara den här"
        " webbplatsen kan läsa, tills du loggar ut.",
        "Sign in with your API key. The key is kept encrypted in a cookie only this site can"
        " read, until you sign out.",
    ),
    "sign_in.key": ("API-nyckel", "API key"),
    "sign_in.submit": ("Logga in", "Sign in"),
    "sign_in.refused": (
        "Nyckeln känns inte igen. Kontrollera den och försök igen.",
        "The key is not recognised. Check it and try again.",
    ),
    "sign_in.expired": (
        "Du behöver logga in för att se sidan.",
        "Please sign in to see that page.",
    ),
    "error.title": ("Något gick fel", "Something went wrong"),
    "error.forbidden": (
        "Din roll får inte se den här sidan.",
        "Your role may not see this page.",
    ),
    "error.unavailable": (
        "Tjänsten svarar inte just nu. Försök igen om en stund.",
        "The service does not answer right now. Try again in a moment.",
    ),
    "error.refused": ("Tjänsten avböjde: {detail}", "The service refused: {detail}"),
    "done": ("Klart: {what}.", "Done: {what}."),
    "inbox.title": ("Inkorg för {agency}", "Inbox of {agency}"),
    "sent.title": ("Skickade från {agency}", "Sent by {agency}"),
    "inbox.filter": ("Filtrera", "Filter"),
    "inbox.status": ("Status", "Status"),
    "inbox.any_status": ("Alla", "Any"),
    "inbox.mine": ("Bara mina ärenden", "Only my cases"),
    "inbox.apply": ("Visa", "Show"),
    "inbox.empty": ("Inga överlämningar.", "No handoffs."),
    "inbox.live": (
        "Listan uppdateras automatiskt när något händer.",
        "The list updates by itself when something happens.",
    ),
    "inbox.updated": ("Listan uppdaterades {time}.", "The list was updated at {time}."),
    "inbox.stopped": (
        "Listan uppdateras inte längre. Ladda om sidan.",
        "The list is no longer updated. Reload the page.",
    ),
    "col.requested": ("Skickad", "Requested"),
    "col.kind": ("Typ", "Kind"),
    "col.from": ("Från", "From"),
    "col.to": ("Till", "To"),
    "col.subject": ("Person (pseudonym)", "Person (pseudonym)"),
    "col.reason": ("Anledning", "Reason"),
    "col.state": ("Status", "State"),
    "col.respond_by": ("Svar senast", "Respond by"),
    "col.caseworker": ("Handläggare", "Caseworker"),
    "col.open": ("Öppna", "Open"),
    "open.referral": ("Öppna överlämning {id}", "Open handoff {id}"),
    "referral.title": ("{kind} {id}", "{kind} {id}"),
    "referral.facts": ("Uppgifter", "Details"),
    "referral.basis": ("Rättslig grund", "Legal basis"),
    "referral.outcome": ("Utfall eller orsak", "Outcome or reason"),
    "referral.parent": ("Vidareförmedlad från", "Redirected from"),
    "referral.updated": ("Senast ändrad", "Last changed"),
    "referral.protected": ("Skyddade personuppgifter", "Protected identity"),
    "referral.timeline": ("Visa personens tidslinje", "Show the person's timeline"),
    "referral.actions": ("Åtgärder", "Actions"),
    "referral.no_actions": (
        "Det finns inget din myndighet kan göra med överlämningen nu.",
        "There is nothing your agency can do with this handoff now.",
    ),
    "yes": ("Ja", "Yes"),
    "no": ("Nej", "No"),
    "none": ("–", "–"),
    "basis.consent": ("Samtycke {id}", "Consent {id}"),
    "basis.legal_duty": ("Skyldighet enligt lag: {id}", "Legal duty: {id}"),
    "basis.necessary_disclosure": ("Nödvändigt utlämnande: {id}", "Necessary disclosure: {id}"),
    "action.accept": ("Acceptera", "Accept"),
    "action.acknowledge": ("Bekräfta orosanmälan", "Acknowledge the report"),
    "action.reject": ("Avvisa", "Reject"),
    "action.assign": ("Tilldela handläggare", "Assign a caseworker"),
    "action.contact-attempts": ("Registrera kontaktförsök", "Record a contact attempt"),
    "action.first-contact": ("Registrera första kontakt", "Record first contact"),
    "action.pause": ("Pausa", "Pause"),
    "action.resume": ("Återuppta", "Resume"),
    "action.complete": ("Avsluta med utfall", "Complete with an outcome"),
    "action.fail": ("Avsluta utan framgång", "Close as failed"),
    "action.cancel": ("Avbryt överlämningen", "Cancel the handoff"),
    "action.entered-in-error": ("Markera som felregistrerad", "Mark as entered in error"),
    "action.redirect": ("Skicka vidare till annan myndighet", "Redirect to another agency"),
    "redirect.basis": (
        "Den nya remissen lämnas på samma rättsliga grund, som också måste omfatta den nya"
        " mottagaren.",
        "The new referral is shared on the same legal basis, which must also cover the new"
        " receiver.",
    ),
    "field.reason": ("Anledning", "Reason"),
    "field.outcome": ("Utfall", "Outcome"),
    "field.channel": ("Kontaktväg", "Channel"),
    "field.caseworker": ("Handläggare (användar-id)", "Caseworker (user id)"),
    "field.receiver": ("Mottagande myndighet", "Receiving agency"),
    "field.categories": ("Uppgifter som lämnas", "Information shared"),
    "field.respond_within": ("Svar inom (dagar)", "Answer within (days)"),
    "field.choose": ("Välj …", "Choose …"),
    "new.title": ("Ny remiss", "New referral"),
    "new.who": ("Vem gäller remissen?", "Who is the referral about?"),
    "new.person": ("Personnummer eller pseudonym", "Personnummer or pseudonym"),
    "new.person_hint": (
        "Personnumret stannar hos din myndighet; andra myndigheter ser bara pseudonymen.",
        "The personnummer stays in your agency; other agencies see only the pseudonym.",
    ),
    "new.continue": ("Fortsätt", "Continue"),
    "new.about": ("Remissen gäller {subject}", "The referral is about {subject}"),
    "new.other_person": ("Välj en annan person", "Choose another person"),
    "new.basis": ("Rättslig grund för att lämna uppgifterna", "Legal basis for sharing"),
    "new.no_consents": (
        "Personen har inga giltiga samtycken registrerade hos {agency}.",
        "The person has no valid consents recorded at {agency}.",
    ),
    "new.consent_option": (
        "Samtycke ({giver}, {method}) till {recipients}; {categories}; giltigt till {until}",
        "Consent ({giver}, {method}) to {recipients}; {categories}; valid until {until}",
    ),
    "new.disclosure_option": (
        "Nödvändigt utlämnande, {provision}",
        "Necessary disclosure, {provision}",
    ),
    "new.duties_note": (
        "En skyldighet enligt lag (orosanmälan, aktivitetsansvaret) är grund för skolans"
        " anmälningar, inte för en remiss.",
        "A legal duty (report of concern, the KAA duty) is the basis of a school's reports, not"
        " of a referral.",
    ),
    "duty.title": ("Anmälan enligt lag", "Reports under a legal duty"),
    "duty.intro": (
        "Kräver inget samtycke: skyldigheten är den rättsliga grunden.",
        "No consent is needed: the duty is the legal basis.",
    ),
    "duty.concern": ("Orosanmälan till socialtjänsten, {duty}", "Report of concern, {duty}"),
    "duty.dropout": (
        "Studieavbrott till hemkommunens aktivitetsansvar, {duty}",
        "Dropout report to the home municipality's KAA unit, {duty}",
    ),
    "field.social_services": ("Socialtjänst", "Social services"),
    "field.concern": ("Oron gäller", "Concern"),
    "field.child": ("Personen är under 18 år", "The person is under 18"),
    "field.kaa": ("Hemkommunens aktivitetsansvar", "The home municipality's KAA unit"),
    "field.left_on": ("Slutade skolan", "Left school on"),
    "field.under_20": ("Personen är under 20 år", "The person is under 20"),
    "duty.send_concern": ("Gör orosanmälan", "Report concern"),
    "duty.send_dropout": ("Anmäl studieavbrott", "Report the dropout"),
    "new.consents_link": ("Samtycken för personen", "The person's consents"),
    "consents.title": ("Samtycken för {subject}", "Consents of {subject}"),
    "consents.intro": (
        "Samtycken som din myndighet har registrerat eller är mottagare av. En remiss kan"
        " skickas på ett samtycke som gäller.",
        "Consents your agency recorded or is a recipient of. A referral may be sent on a"
        " consent in force.",
    ),
    "consents.refer": ("Ny remiss för personen", "New referral for the person"),
    "consents.none": ("Inga samtycken.", "No consents."),
    "consents.in_force": ("Gäller", "In force"),
    "consents.withdrawn": ("Återkallat", "Withdrawn"),
    "consents.expired": ("Har upphört", "Expired"),
    "consents.pending": ("Gäller ännu inte", "Not yet in force"),
    "consents.withdraw": ("Återkalla", "Withdraw"),
    "consents.withdraw_one": (
        "Återkalla samtycket till {recipients}, giltigt till {until}",
        "Withdraw the consent to {recipients}, valid until {until}",
    ),
    "consents.record": ("Registrera ett samtycke", "Record a consent"),
    "consents.submit": ("Registrera samtycket", "Record the consent"),
    "consents.done.recorded": ("samtycket registrerades", "the consent was recorded"),
    "consents.done.withdrawn": ("samtycket återkallades", "the consent was withdrawn"),
    "col.recorded_by": ("Registrerat av", "Recorded by"),
    "col.given": ("Lämnat", "Given"),
    "col.recipients": ("Mottagare", "Recipients"),
    "col.valid": ("Giltigt", "Valid"),
    "field.given_by": ("Lämnat av", "Given by"),
    "field.method": ("Hur samtycket lämnades", "How it was given"),
    "field.recipients": ("Myndigheter som får uppgifterna", "Agencies that may receive them"),
    "field.valid_until": ("Giltigt till och med", "Valid up to and including"),
    "new.send": ("Skicka remissen", "Send the referral"),
    "new.sent": ("remissen skickades", "the referral was sent"),
    "new.reported": ("anmälan skickades", "the report was sent"),
    "timeline.title": ("Tidslinje för {subject}", "Timeline of {subject}"),
    "timeline.intro": (
        "Alla överlämningar om personen som din myndighet deltagit i, och kedjorna de hör till.",
        "Every handoff about the person your agency took part in, and the chains they belong to.",
    ),
    "col.when": ("Tidpunkt", "When"),
    "col.handoff": ("Överlämning", "Handoff"),
    "col.event": ("Händelse", "Event"),
    "col.by": ("Av", "By"),
    "col.state_after": ("Status efter", "State after"),
    "col.code": ("Kod", "Code"),
    "audit.title": ("Granskning", "Audit"),
    "audit.head": ("Loggens signerade huvud", "The log's signed head"),
    "audit.size": ("Antal poster", "Entries"),
    "audit.root": ("Rothash", "Root hash"),
    "audit.signed_at": ("Signerat", "Signed at"),
    "audit.key": ("Publik nyckel", "Public key"),
    "audit.signature_ok": ("Signaturen stämmer", "The signature holds"),
    "audit.signature_bad": ("Signaturen stämmer inte", "The signature does not hold"),
    "audit.key_pinned": (
        "Kontrollerad mot loggens konfigurerade nyckel.",
        "Checked against the log's configured key.",
    ),
    "audit.key_unpinned": (
        "Ingen nyckel är konfigurerad: kontrollerad mot nyckeln som huvudet anger.",
        "No key is configured: checked against the key the head names.",
    ),
    "audit.open_chain": ("Öppna en remisskedja", "Open a referral chain"),
    "audit.referral_id": ("Remissens id", "Referral id"),
    "audit.open": ("Öppna", "Open"),
    "audit.subject_chains": ("Kedjor om en person", "Chains about a person"),
    "audit.subject": ("Pseudonym", "Pseudonym"),
    "audit.verify_log": ("Verifiera hela loggen", "Verify the whole log"),
    "audit.log_ok": (
        "Loggen är intakt: {checked} poster kontrollerade mot hashkedjan och de signerade"
        " huvudena.",
        "The log is intact: {checked} entries checked against the hash chain and signed heads.",
    ),
    "audit.log_bad": (
        "Loggen stämmer inte från post {seq}: {detail}",
        "The log does not match from entry {seq}: {detail}",
    ),
    "chain.title": ("Remisskedja {id}", "Referral chain {id}"),
    "chain.subject_title": ("Kedjor om {subject}", "Chains about {subject}"),
    "chain.none": ("Inga kedjor.", "No chains."),
    "chain.verified": (
        "Verifierad: alla {count} händelser finns i den signerade loggen (huvud med {size}"
        " poster, signerat {at}).",
        "Verified: all {count} events are in the signed log (head of {size} entries, signed {at}).",
    ),
    "chain.not_verified": (
        "Inte verifierad: {count} händelser kunde inte bevisas finnas i loggen.",
        "Not verified: {count} events could not be proven to be in the log.",
    ),
    "chain.tree": ("Kedjan som träd", "The chain as a tree"),
    "chain.referral": (
        "från {sender} till {receiver}, nu {state}",
        "from {sender} to {receiver}, now {state}",
    ),
    "chain.event_ok": ("bevisad i loggen", "proven in the log"),
    "chain.event_bad": ("ej bevisad: {problem}", "not proven: {problem}"),
    "chain.caused_by": ("orsakad av #{seq}", "caused by #{seq}"),
    "chain.basis": ("grund: {basis}", "basis: {basis}"),
    "reads.title": ("Logg över läsningar", "Read log"),
    "reads.intro": (
        "Vem läste vems uppgifter, när och varför (loggkontroll).",
        "Who read whose records, when and why (log review).",
    ),
    "reads.accessor": ("Läsare (användar-id)", "Reader (user id)"),
    "reads.agency": ("Myndighet", "Agency"),
    "reads.since": ("Från och med", "From"),
    "reads.until": ("Till", "Until"),
    "reads.apply": ("Sök", "Search"),
    "reads.empty": ("Inga läsningar.", "No reads."),
    "reads.count": ("{count} läsningar", "{count} reads"),
    "col.reader": ("Läsare", "Reader"),
    "col.role": ("Roll", "Role"),
    "col.resource": ("Vad", "What"),
    "col.record": ("Post", "Record"),
    "col.purpose": ("Syfte", "Purpose"),
}

# coded value -> (Swedish, English). Values shared by several code lists mean the same thing.
CODES: Final[Mapping[str, tuple[str, str]]] = {
    # states
    "requested": ("Skickad", "Requested"),
    "received": ("Mottagen", "Received"),
    "accepted": ("Accepterad", "Accepted"),
    "rejected": ("Avvisad", "Rejected"),
    "in_progress": ("Pågår", "In progress"),
    "on_hold": ("Pausad", "On hold"),
    "completed": ("Avslutad", "Completed"),
    "failed": ("Misslyckad", "Failed"),
    "cancelled": ("Avbruten", "Cancelled"),
    "expired": ("Utgången", "Expired"),
    "entered_in_error": ("Felregistrerad", "Entered in error"),
    # handoff kinds
    "referral": ("Remiss", "Referral"),
    "dropout_report": ("Studieavbrott (KAA)", "Dropout report (KAA)"),
    "concern_report": ("Orosanmälan", "Report of concern"),
    # referral reasons
    "absence": ("Frånvaro", "Absence"),
    "study_difficulties": ("Studiesvårigheter", "Study difficulties"),
    "mental_health": ("Psykisk ohälsa", "Mental health"),
    "family_situation": ("Familjesituation", "Family situation"),
    "employment_support": ("Stöd till arbete", "Employment support"),
    "return_to_studies": ("Återgång till studier", "Return to studies"),
    "other": ("Annat", "Other"),
    # data categories
    "identity": ("Identitet", "Identity"),
    "attendance": ("Närvaro", "Attendance"),
    "grades": ("Betyg", "Grades"),
    "health": ("Hälsa", "Health"),
    "social_situation": ("Social situation", "Social situation"),
    "employment_status": ("Sysselsättning", "Employment status"),
    "case_status": ("Ärendestatus", "Case status"),
    # rejection, failure, cancel and pause reasons
    "no_capacity": ("Saknar kapacitet", "No capacity"),
    "not_in_remit": ("Utanför uppdraget", "Not in remit"),
    "wrong_municipality": ("Fel kommun", "Wrong municipality"),
    "subject_declined": ("Den unga avböjer", "The young person declined"),
    "already_known": ("Redan känd", "Already known"),
    "insufficient_basis": ("Otillräcklig rättslig grund", "Insufficient legal basis"),
    "no_contact": ("Ingen kontakt", "No contact"),
    "moved_away": ("Har flyttat", "Moved away"),
    "needs_other_agency": ("Behöver annan myndighet", "Needs another agency"),
    "no_longer_needed": ("Behövs inte längre", "No longer needed"),
    "consent_withdrawn": ("Samtycket återkallat", "Consent withdrawn"),
    "duplicate": ("Dubblett", "Duplicate"),
    "subject_moved": ("Den unga har flyttat", "The young person moved"),
    "subject_unavailable": ("Den unga är inte tillgänglig", "The young person is unavailable"),
    "waiting_for_other_agency": ("Väntar på annan myndighet", "Waiting for another agency"),
    "holiday": ("Ledighet", "Holiday"),
    # outcomes
    "returned_to_studies": ("Återgått till studier", "Returned to studies"),
    "in_work": ("I arbete", "In work"),
    "in_other_activity": ("I annan aktivitet", "In another activity"),
    "support_given": ("Stöd givet", "Support given"),
    "none": ("Inget utfall", "No outcome"),
    # contact channels
    "phone": ("Telefon", "Phone"),
    "meeting": ("Möte", "Meeting"),
    "home_visit": ("Hembesök", "Home visit"),
    "letter": ("Brev", "Letter"),
    "digital": ("Digitalt", "Digital"),
    # dropout reasons and concerns
    "left_programme": ("Lämnat programmet", "Left the programme"),
    "long_absence": ("Lång frånvaro", "Long absence"),
    "never_started": ("Aldrig påbörjat", "Never started"),
    "moved_abroad": ("Flyttat utomlands", "Moved abroad"),
    "neglect": ("Försummelse", "Neglect"),
    "violence_at_home": ("Våld i hemmet", "Violence at home"),
    "substance_use": ("Missbruk", "Substance use"),
    "criminality": ("Kriminalitet", "Criminality"),
    "self_harm": ("Självskadebeteende", "Self-harm"),
    "honour_related": ("Hedersrelaterat", "Honour-related"),
    # consents
    "subject": ("den unga själv", "the young person"),
    "guardian": ("vårdnadshavare", "guardian"),
    "written": ("skriftligt", "written"),
    "digital_signature": ("digital underskrift", "digital signature"),
    "verbal_documented": ("muntligt, dokumenterat", "verbal, documented"),
    # roles, read purposes and what was read
    "agency_system": ("Verksamhetssystem", "Agency system"),
    "caseworker": ("Handläggare", "Caseworker"),
    "auditor": ("Granskare", "Auditor"),
    "casework": ("Handläggning", "Casework"),
    "handoff_decision": ("Beslut om överlämning", "Handoff decision"),
    "follow_up": ("Uppföljning", "Follow-up"),
    "audit": ("Granskning", "Audit"),
    "system_integration": ("Systemintegration", "System integration"),
    "subject_record": ("Personuppgifter", "Personal record"),
    "timeline": ("Tidslinje", "Timeline"),
    "inbox": ("Inkorg", "Inbox"),
    "consent": ("Samtycke", "Consent"),
    "audit_chain": ("Granskningskedja", "Audit chain"),
    # handoff events
    "ReferralRequested": ("Remiss skickad", "Referral requested"),
    "DropoutReported": ("Studieavbrott anmält", "Dropout reported"),
    "ConcernReported": ("Orosanmälan gjord", "Concern reported"),
    "ReferralReceived": ("Mottagen", "Received"),
    "ReferralAccepted": ("Accepterad", "Accepted"),
    "ConcernAcknowledged": ("Orosanmälan bekräftad", "Concern acknowledged"),
    "ReferralRejected": ("Avvisad", "Rejected"),
    "CaseworkerAssigned": ("Handläggare tilldelad", "Caseworker assigned"),
    "ContactAttempted": ("Kontaktförsök", "Contact attempted"),
    "FirstContactMade": ("Första kontakt", "First contact made"),
    "ReferralPaused": ("Pausad", "Paused"),
    "ReferralResumed": ("Återupptagen", "Resumed"),
    "ReferralCompleted": ("Avslutad", "Completed"),
    "ReferralFailed": ("Misslyckad", "Failed"),
    "ReferralCancelled": ("Avbruten", "Cancelled"),
    "ReferralExpired": ("Utgången", "Expired"),
    "ReferralRedirected": ("Vidareförmedlad", "Redirected"),
    "ReferralEnteredInError": ("Felregistrerad", "Entered in error"),
}


@dataclass(frozen=True)
class Texts:
    """The catalogue in one language, as templates call it: `t("key", name=value)`."""

    language: str

    def __call__(self, key: str, **fields: object) -> str:
        """The message `key`, with `fields` filled in."""
        sv, en = MESSAGES[key]
        text = sv if self.language == "sv" else en
        return text.format(**fields) if fields else text

    def code(self, value: str | None) -> str:
        """The label of a coded value; the value itself if it has none (a newer code)."""
        if value is None:
            return self("none")
        labels = CODES.get(value)
        if labels is None:
            return value
        return labels[0] if self.language == "sv" else labels[1]

    def codes(self, values: Iterable[str]) -> str:
        """The labels of several coded values, as a list in running text."""
        return ", ".join(self.code(v) for v in values)


def choose_language(query: str | None, cookie: str | None, accept_language: str) -> str:
    """The language asked for: `?lang=`, else the cookie, else the browser's first choice of
    the two, else Swedish."""
    for wanted in (query, cookie):
        if wanted in LANGUAGES:
            return wanted
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE
