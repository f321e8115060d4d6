"""The load: referrals, dropout reports and reports of concern moved through the loop by the
agencies' own clients, at a steady rate, each step taken by the party whose turn it is once it
has been told (over its live notification stream) that it is.

Every confirmed answer goes into the ledger; that, and nothing the services say about
themselves, is what the checker expects to find.
"""

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chaos.clients import AgencyClient, Answer, Refused, Unsettled
from chaos.deployment import Deployment
from chaos.ledger import Expected, Ledger
from contracts.catalogue import EVENT_TABLE, type_of
from contracts.events import (
    ConcernReported,
    DropoutReported,
    ReferralReceived,
    ReferralRedirected,
    ReferralRequested,
)

log = logging.getLogger(__name__)

SCHOOL = "ale.school.ale-gymnasium"
ALE_SOCIAL = "ale.social"
GBG_SOCIAL = "goteborg.social"
ALE_KAA = "ale.kaa"
GBG_KAA = "goteborg.kaa"
AF_GBG = "af.goteborg"
FOLK_HIGH_SCHOOL = "lerum.folkhogskola"
AGENCIES = (SCHOOL, ALE_SOCIAL, GBG_SOCIAL, ALE_KAA, GBG_KAA, AF_GBG, FOLK_HIGH_SCHOOL)
#: Whom each subject's consent lets the school share with (every referral receiver below).
CONSENT_RECIPIENTS = [ALE_SOCIAL, GBG_SOCIAL, ALE_KAA, AF_GBG, FOLK_HIGH_SCHOOL]

REQUESTED, RECEIVED = type_of(ReferralRequested), type_of(ReferralReceived)
DROPOUT_REPORTED, CONCERN_REPORTED = type_of(DropoutReported), type_of(ConcernReported)
REDIRECTED = type_of(ReferralRedirected)
# action path -> (event it makes, state it leaves the handoff in; None: the state stays)
ACTIONS: dict[str, tuple[str, str | None]] = {
    meaning.action: (
        meaning.event_type,
        meaning.steps[0].target.value if meaning.steps[0].target else None,
    )
    for meaning in EVENT_TABLE.values()
    if meaning.action is not None
}


def new_subject() -> str:
    """A fresh pseudonymous subject reference (no personnummer is needed for the load)."""
    return uuid.uuid4().hex + uuid.uuid4().hex


def _already_open(answer: httpx.Response) -> Answer | None:
    """A retried opening refused because the first one took effect: its result."""
    body = answer.json() if answer.status_code == 409 else {}
    if body.get("error") == "duplicate_open_referral":
        return {"referral_id": body["referral_id"], "state": body["state"]}
    return None


@dataclass(frozen=True)
class Flow:
    """A way a handoff goes, how often, and how many handoffs it opens."""

    run: Callable[["Load"], Awaitable[None]]
    weight: int
    handoffs: int = 1


class Load:
    """The agencies' clients on one deployment, and the flows they play."""

    def __init__(
        self,
        deployment: Deployment,
        ledger: Ledger,
        rng: random.Random,
        patience_s: float = 120.0,
        stream_wait_s: float = 20.0,
    ) -> None:
        self.deployment = deployment
        self.ledger = ledger
        self.rng = rng
        self.stream_wait_s = stream_wait_s
        self.clients = {a: AgencyClient(deployment, a, ledger, patience_s) for a in AGENCIES}
        #: Handoffs the flows started so far will open (the load's progress).
        self.planned = 0

    async def start(self) -> None:
        """Open every agency's live stream."""
        await asyncio.gather(*(client.start() for client in self.clients.values()))

    async def close(self) -> None:
        """Close every client."""
        await asyncio.gather(*(client.close() for client in self.clients.values()))

    async def run(self, referrals: int, rate_per_s: float, concurrency: int) -> None:
        """Start flows until they open `referrals` handoffs, at `rate_per_s` handoffs a second
        with at most `concurrency` in flight, and wait for all of them."""
        names = list(FLOWS)
        weights = [FLOWS[n].weight for n in names]
        slots = asyncio.Semaphore(concurrency)
        loop = asyncio.get_running_loop()
        begun = loop.time()
        running: list[asyncio.Task[None]] = []
        while self.planned < referrals:
            name = self.rng.choices(names, weights)[0]
            await slots.acquire()
            self.planned += FLOWS[name].handoffs
            running.append(asyncio.create_task(self._play(name, slots)))
            delay = begun + self.planned / rate_per_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*running)

    async def probe(self) -> None:
        """A report of concern sent and acknowledged back: the loop works end to end."""
        report = await self.report_concern("probe", "1480", GBG_SOCIAL)
        await self.arrived(GBG_SOCIAL, report)
        await self.clients[SCHOOL].arrival(report.referral_id, RECEIVED, 60.0)

    async def _play(self, name: str, slots: asyncio.Semaphore) -> None:
        try:
            await FLOWS[name].run(self)
        except (Refused, Unsettled) as exc:
            self.ledger.abandoned[f"{name}: {type(exc).__name__}"] += 1
            log.warning("flow %s stopped: %s", name, exc)
        finally:
            slots.release()

    # -- steps ---------------------------------------------------------------

    async def consent(self, subject: str) -> str:
        """The subject's consent, recorded by the school. A retry may record a second one,
        which is harmless: each referral names the consent it relies on."""
        answer = await self.clients[SCHOOL].command(
            "/consents",
            {
                "agency": SCHOOL,
                "subject": subject,
                "given_by": "subject",
                "method": "digital_signature",
                "recipients": CONSENT_RECIPIENTS,
                "data_categories": ["attendance", "case_status"],
                "valid_until": "2035-01-01T00:00:00Z",
            },
        )
        return str(answer["consent_id"])

    async def refer(self, flow: str, receiver: str) -> Expected:
        """The school refers a new subject to `receiver`, on the subject's consent."""
        subject = new_subject()
        consent_id = await self.consent(subject)
        body = {
            "sender": SCHOOL,
            "receiver": receiver,
            "subject": subject,
            "reason": "absence",
            "data_categories": ["attendance"],
            "legal_basis": {"kind": "consent", "consent_id": consent_id},
        }
        answer = await self.clients[SCHOOL].command("/referrals", body, settle=_already_open)
        return self._opened(answer, flow, "referral", SCHOOL, receiver, REQUESTED)

    async def report_dropout(self, flow: str) -> Expected:
        """The school reports a dropout to the home municipality's KAA (Göteborg)."""
        body = {"school": SCHOOL, "subject": new_subject(), "home_municipality": "1480",
                "reason": "long_absence", "left_on": "2025-01-10", "under_20": True}  # fmt: skip
        answer = await self.clients[SCHOOL].command("/dropout-reports", body, _already_open)
        return self._opened(answer, flow, "dropout_report", SCHOOL, GBG_KAA, DROPOUT_REPORTED)

    async def report_concern(self, flow: str, municipality: str, receiver: str) -> Expected:
        """The school reports concern to the municipality's social services."""
        body = {"school": SCHOOL, "subject": new_subject(), "municipality": municipality,
                "concern": "neglect", "subject_is_child": True}  # fmt: skip
        answer = await self.clients[SCHOOL].command("/concern-reports", body, _already_open)
        return self._opened(answer, flow, "concern_report", SCHOOL, receiver, CONCERN_REPORTED)

    def _opened(
        self, answer: Answer, flow: str, kind: str, sender: str, receiver: str, event: str
    ) -> Expected:
        return self.ledger.opened(
            Expected(str(answer["referral_id"]), flow, kind, sender, receiver, None, [event])
        )

    async def arrived(self, agency: str, handoff: Expected) -> None:
        """Wait until the receiver is told; its service acknowledged receipt in the same
        transaction that told it."""
        await self.clients[agency].arrival(handoff.referral_id, handoff.events[0], 60.0)
        handoff.events.append(RECEIVED)

    async def act(self, agency: str, handoff: Expected, action: str, **fields: Any) -> None:
        """Take one action on the handoff; on an unanswered call, look before retrying."""
        event, state = ACTIONS[action]
        client = self.clients[agency]
        rid = handoff.referral_id

        async def lookup() -> Answer | None:
            seen = await client.handoff(rid)
            if seen is None:
                return None
            done = seen["state"] == state if state else seen["caseworker"] == fields["caseworker"]
            return seen if done else None

        def settle(answer: httpx.Response) -> Answer | None:
            body = answer.json() if answer.status_code == 409 else {}
            return body if state and body.get("current_state") == state else None

        handoff.settled = False
        try:
            await client.command(
                f"/referrals/{rid}/{action}", {"agency": agency, **fields}, settle, lookup
            )
        except Refused as refused:
            handoff.settled = True  # refused outright: it did not happen
            seen = refused.answer.get("current_state")
            if seen is not None and seen != handoff.final_state.value:
                self.ledger.backwards_seen.append(
                    f"{agency}: {rid} was {handoff.final_state.value}, then {seen} ({action})"
                )
            raise
        handoff.events.append(event)
        handoff.settled = True

    async def redirect(self, agency: str, parent: Expected, receiver: str) -> Expected:
        """`agency` passes its rejected handoff on to `receiver`; the new, linked handoff."""
        body = {"agency": agency, "receiver": receiver, "reason": "employment_support",
                "data_categories": ["attendance"]}  # fmt: skip
        parent.settled = False
        answer = await self.clients[agency].command(
            f"/referrals/{parent.referral_id}/redirect", body, settle=_already_open
        )
        parent.events.append(REDIRECTED)
        parent.settled = True
        child = self._opened(answer, parent.flow, "referral", agency, receiver, REQUESTED)
        child.parent = parent.referral_id
        return child


# -- flows -------------------------------------------------------------------


async def completed(load: Load) -> None:
    """Referred, accepted, assigned, in progress, paused and resumed, completed."""
    handoff = await load.refer("completed", ALE_SOCIAL)
    await load.arrived(ALE_SOCIAL, handoff)
    await load.act(ALE_SOCIAL, handoff, "accept")
    await load.act(ALE_SOCIAL, handoff, "assign", caseworker="sara.berg")
    await load.act(ALE_SOCIAL, handoff, "first-contact", channel="meeting")
    await load.act(ALE_SOCIAL, handoff, "pause", reason="holiday")
    await load.act(ALE_SOCIAL, handoff, "resume")
    await load.act(ALE_SOCIAL, handoff, "complete", outcome="support_given")


async def redirected(load: Load) -> None:
    """Rejected by social services and passed on to employment, which completes it."""
    parent = await load.refer("redirected", ALE_SOCIAL)
    await load.arrived(ALE_SOCIAL, parent)
    await load.act(ALE_SOCIAL, parent, "reject", reason="not_in_remit")
    child = await load.redirect(ALE_SOCIAL, parent, AF_GBG)
    await load.arrived(AF_GBG, child)
    await load.act(AF_GBG, child, "accept")
    await load.act(AF_GBG, child, "first-contact", channel="phone")
    await load.act(AF_GBG, child, "complete", outcome="in_work")


async def rejected(load: Load) -> None:
    """Rejected for want of capacity."""
    handoff = await load.refer("rejected", GBG_SOCIAL)
    await load.arrived(GBG_SOCIAL, handoff)
    await load.act(GBG_SOCIAL, handoff, "reject", reason="no_capacity")


async def failed(load: Load) -> None:
    """Accepted by KAA, which never reaches the young person."""
    handoff = await load.refer("failed", ALE_KAA)
    await load.arrived(ALE_KAA, handoff)
    await load.act(ALE_KAA, handoff, "accept")
    await load.act(ALE_KAA, handoff, "first-contact", channel="letter")
    await load.act(ALE_KAA, handoff, "fail", reason="no_contact")


async def cancelled(load: Load) -> None:
    """Cancelled by the school once the folk high school has it."""
    handoff = await load.refer("cancelled", FOLK_HIGH_SCHOOL)
    await load.arrived(FOLK_HIGH_SCHOOL, handoff)
    await load.clients[SCHOOL].arrival(handoff.referral_id, RECEIVED, 60.0)
    await load.act(SCHOOL, handoff, "cancel", reason="no_longer_needed")


async def entered_in_error(load: Load) -> None:
    """Sent by mistake and marked so by the school."""
    handoff = await load.refer("entered_in_error", ALE_KAA)
    await load.arrived(ALE_KAA, handoff)
    await load.clients[SCHOOL].arrival(handoff.referral_id, RECEIVED, 60.0)
    await load.act(SCHOOL, handoff, "entered-in-error")


async def dropout(load: Load) -> None:
    """A dropout report to the home municipality's KAA, which gets the student back."""
    handoff = await load.report_dropout("dropout")
    await load.arrived(GBG_KAA, handoff)
    await load.act(GBG_KAA, handoff, "accept")
    await load.act(GBG_KAA, handoff, "first-contact", channel="home_visit")
    await load.act(GBG_KAA, handoff, "complete", outcome="returned_to_studies")


async def concern(load: Load) -> None:
    """A report of concern, acknowledged and acted on by social services."""
    handoff = await load.report_concern("concern", "1440", ALE_SOCIAL)
    await load.arrived(ALE_SOCIAL, handoff)
    await load.act(ALE_SOCIAL, handoff, "acknowledge")
    await load.act(ALE_SOCIAL, handoff, "first-contact", channel="home_visit")
    await load.act(ALE_SOCIAL, handoff, "complete", outcome="support_given")


FLOWS: dict[str, Flow] = {
    "completed": Flow(completed, 30),
    "redirected": Flow(redirected, 12, handoffs=2),
    "rejected": Flow(rejected, 10),
    "failed": Flow(failed, 10),
    "cancelled": Flow(cancelled, 10),
    "entered_in_error": Flow(entered_in_error, 5),
    "dropout": Flow(dropout, 12),
    "concern": Flow(concern, 11),
}
