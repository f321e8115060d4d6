"""`make demo`: the five handoff flows played against the running services' HTTP APIs, with
every handoff and notification printed as it happens. Starts the stack first if needed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from contracts.services import AGENCY_SERVICES

from .kafka_jars import REPO_ROOT
from .sse import sse_events

WORKDIR = REPO_ROOT / ".run" / "stack"
#: The agency services where the local runner starts them.
URLS = {s.name: f"http://127.0.0.1:{s.port}" for s in AGENCY_SERVICES}
SCHOOL, ALE_SOCIAL, GBG_KAA, AF_GBG = (
    "ale.school.ale-gymnasium",
    "ale.social",
    "goteborg.kaa",
    "af.goteborg",
)
WATCHED = [
    ("school", SCHOOL),
    ("social", ALE_SOCIAL),
    ("employment", GBG_KAA),
    ("employment", AF_GBG),
]


def _running() -> bool:
    try:
        with urllib.request.urlopen(URLS["employment"] + "/health", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _stack() -> Any:
    """Use the running stack, or start one for the demo and stop it afterwards."""
    if _running():
        yield
        return
    print("Starting Kafka, PostgreSQL and the services (make run) ...", flush=True)
    runner = subprocess.Popen([sys.executable, "-m", "deploy", "run"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not _running():
            if runner.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stack did not start; try `make run` to see why")
            time.sleep(0.5)
        yield
    finally:
        runner.terminate()
        runner.wait(60)


class Demo:
    """Plays the flows as agency systems and caseworkers would."""

    def __init__(self, http: httpx.AsyncClient, keys: dict[str, str]) -> None:
        self.http, self.keys = http, keys

    def auth(self, agency: str) -> dict[str, str]:
        """Act as the agency's caseworker."""
        return {"Authorization": f"Bearer {self.keys[f'{agency}.caseworker']}"}

    async def post(self, service: str, path: str, agency: str, body: dict[str, Any]) -> Any:
        """POST as `agency` and print what happened."""
        answer = await self.http.post(URLS[service] + path, json=body, headers=self.auth(agency))
        answer.raise_for_status()
        data = answer.json()
        state = data.get("state", "")
        print(f"  {agency:>26} -> {path.split('/')[-1]:<16} {state}", flush=True)
        return data

    async def watch(self, service: str, agency: str) -> None:
        """Print the agency's live notifications."""
        url = f"{URLS[service]}/agencies/{agency}/notifications/stream"
        async with self.http.stream("GET", url, headers=self.auth(agency), timeout=None) as lines:
            async for kind, data in sse_events(lines.aiter_lines()):
                if kind == "handoff":
                    note = json.loads(data)
                    print(f"  {agency:>26} <- notified: {note['event_type']} ({note['state']})",
                          flush=True)  # fmt: skip

    async def wait_state(self, service: str, agency: str, rid: str, state: str) -> None:
        """Wait until the agency sees the referral in `state`."""
        for _ in range(600):
            answer = await self.http.get(
                f"{URLS[service]}/referrals/{rid}",
                params={"agency": agency},
                headers=self.auth(agency),
            )
            if answer.status_code == 200 and answer.json()["state"] == state:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{agency} never saw {rid} {state}")

    async def timeline(self, agency: str, subject: str, last_referral: str) -> None:
        """Print the subject's timeline as the school sees it, once the last step arrived."""
        url = f"{URLS['school']}/agencies/{agency}/subjects/{subject}/timeline"
        for _ in range(600):
            steps = (await self.http.get(url, headers=self.auth(agency))).json()
            if any(s["referral_id"] == last_referral and s["state_after"] == "completed"
                   for s in steps):  # fmt: skip
                break
            await asyncio.sleep(0.1)
        print(f"  timeline at {agency}:")
        for step in steps:
            print(f"    {step['producer']:>26}  {step['event_type']:<20} {step['code'] or ''}")

    async def referral(self, subject: str, receiver: str, **extra: Any) -> str:
        """Record consent at school and refer; the referral id."""
        consent = await self.post("school", "/consents", SCHOOL, {
            "agency": SCHOOL, "subject": subject, "given_by": "subject",
            "method": "digital_signature", "recipients": [ALE_SOCIAL, AF_GBG],
            "data_categories": ["attendance", "case_status"],
            "valid_until": "2030-01-01T00:00:00Z"})  # fmt: skip
        basis = {"kind": "consent", "consent_id": consent["consent_id"]}
        answer = await self.post("school", "/referrals", SCHOOL, {
            "sender": SCHOOL, "receiver": receiver, "subject": subject, "reason": "absence",
            "data_categories": ["attendance"], "legal_basis": basis, **extra})  # fmt: skip
        return str(answer["referral_id"])

    async def act(self, service: str, rid: str, action: str, agency: str, **body: Any) -> Any:
        """A caseworker moves the referral on."""
        return await self.post(
            service, f"/referrals/{rid}/{action}", agency, {"agency": agency, **body}
        )


def _subject() -> str:
    return secrets.token_hex(32)


async def flow_1(demo: Demo) -> None:
    """School refers to social services on consent; social accepts, meets, completes."""
    rid = await demo.referral(_subject(), ALE_SOCIAL)
    await demo.wait_state("social", ALE_SOCIAL, rid, "received")
    await demo.act("social", rid, "accept", ALE_SOCIAL)
    await demo.act("social", rid, "assign", ALE_SOCIAL, caseworker="sara.berg")
    await demo.act("social", rid, "first-contact", ALE_SOCIAL, channel="meeting")
    await demo.act("social", rid, "complete", ALE_SOCIAL, outcome="support_given")
    await demo.wait_state("school", SCHOOL, rid, "completed")


async def flow_2(demo: Demo) -> None:
    """Dropout report (legal duty) to the home municipality's KAA, not the school's."""
    report = await demo.post("school", "/dropout-reports", SCHOOL, {
        "school": SCHOOL, "subject": _subject(), "home_municipality": "1480",
        "reason": "left_programme", "left_on": "2026-11-02", "under_20": True})  # fmt: skip
    await demo.wait_state("employment", GBG_KAA, report["referral_id"], "received")
    await demo.act("employment", report["referral_id"], "accept", GBG_KAA)


async def flows_3_and_4(demo: Demo) -> None:
    """Social rejects and redirects to employment, which completes: back to studies."""
    rid = await demo.referral(_subject(), ALE_SOCIAL)
    await demo.wait_state("social", ALE_SOCIAL, rid, "received")
    await demo.act("social", rid, "reject", ALE_SOCIAL, reason="no_capacity")
    new = await demo.act("social", rid, "redirect", ALE_SOCIAL, receiver=AF_GBG,
                         reason="employment_support", data_categories=["case_status"])  # fmt: skip
    await demo.wait_state("employment", AF_GBG, new["referral_id"], "received")
    for action, extra in [("accept", {}), ("first-contact", {"channel": "phone"}),
                          ("complete", {"outcome": "returned_to_studies"})]:  # fmt: skip
        await demo.act("employment", new["referral_id"], action, AF_GBG, **extra)
    await demo.wait_state("school", SCHOOL, rid, "rejected")
    await demo.timeline(SCHOOL, new["subject"], new["referral_id"])


async def flow_5(demo: Demo) -> None:
    """A referral nobody answers expires at its deadline; the school is told."""
    rid = await demo.referral(_subject(), ALE_SOCIAL, respond_within_days=0)
    await demo.wait_state("school", SCHOOL, rid, "expired")


FLOWS: list[tuple[str, Callable[[Demo], Awaitable[None]]]] = [
    ("1. School -> social services, on consent", flow_1),
    ("2. School -> home municipality's KAA: dropout report", flow_2),
    ("3+4. Rejected, redirected to employment, back to studies", flows_3_and_4),
    ("5. Unanswered referral expires", flow_5),
]


async def play(keys: dict[str, str]) -> None:
    """Play every flow with the live notification streams printing alongside."""
    async with httpx.AsyncClient(timeout=10) as http:
        demo = Demo(http, keys)
        watchers = [asyncio.create_task(demo.watch(s, a)) for s, a in WATCHED]
        await asyncio.sleep(1)
        for title, flow in FLOWS:
            print(f"\n{title}", flush=True)
            await flow(demo)
            await asyncio.sleep(1)  # let the last notifications print
        for watcher in watchers:
            watcher.cancel()
    print(f"\nDone. Explore the APIs at {URLS['school']}/docs (keys in .run/stack/api-keys.json)")


def main() -> int:
    """Entry point of `python -m deploy demo`."""
    with _stack():
        asyncio.run(play(json.loads((WORKDIR / "api-keys.json").read_text())))
    return 0
