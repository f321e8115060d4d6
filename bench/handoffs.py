"""Handoff latency: from the school's HTTP 201 for a new referral to the social-services
caseworker's Server-Sent Event for it, under an open-loop load at a fixed rate.

Open loop: referral i is sent at start + i / rate whether or not earlier ones were answered,
so a slow system does not quietly lower the offered load. How late the generator itself was
is reported (`send_lag_ms_max`), as are the rates actually sent and answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from bench.deployment import Deployment
from bench.stats import summary
from contracts.catalogue import type_of
from contracts.events import ReferralRequested
from deploy.sse import sse_events

SCHOOL = "ale.school.ale-gymnasium"
SOCIAL = "ale.social"
CATEGORIES = ["attendance", "case_status"]
#: Referrals on their way to the school at once; the rest wait their turn in the generator.
IN_FLIGHT = 64


@dataclass(frozen=True)
class Subject:
    """A young person the school may refer: pseudonym and the consent that covers it."""

    subject: str
    consent_id: str


@dataclass
class RateResult:
    """What one rate step measured."""

    offered_per_s: float
    seconds: float
    sent: int = 0
    created: int = 0
    refused: int = 0
    failed: int = 0
    delivered: int = 0
    sent_per_s: float = 0.0
    created_per_s: float = 0.0
    send_lag_ms_max: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """Percentiles and counts, as results.json gives them."""
        latency = summary(self.latencies_ms)
        return {
            **latency,
            "offered_per_s": self.offered_per_s,
            "seconds": self.seconds,
            "sent": self.sent,
            "sent_per_s": round(self.sent_per_s, 1),
            "created": self.created,
            "created_per_s": round(self.created_per_s, 1),
            "refused": self.refused,
            "failed": self.failed,
            "delivered": self.delivered,
            "lost": self.created - self.delivered,
            "send_lag_ms_max": round(self.send_lag_ms_max, 1),
            "http_201_ms": summary(self.http_ms),
        }


def new_subject() -> str:
    """A fresh pseudonymous subject reference."""
    return uuid.uuid4().hex + uuid.uuid4().hex


async def record_consents(deployment: Deployment, count: int, parallel: int = 16) -> list[Subject]:
    """Record `count` subjects' consents to share with social services, `parallel` at a time."""
    school = deployment.services["school"].url
    headers = deployment.headers(f"{SCHOOL}.caseworker")
    made: list[Subject] = []
    queue = iter(range(count))

    async def worker(http: httpx.AsyncClient) -> None:
        for _ in queue:
            subject = new_subject()
            body = {
                "agency": SCHOOL, "subject": subject, "given_by": "subject",
                "method": "digital_signature", "recipients": [SOCIAL],
                "data_categories": CATEGORIES, "valid_until": "2099-01-01T00:00:00Z",
            }  # fmt: skip
            answer = await http.post(school + "/consents", json=body, headers=headers)
            answer.raise_for_status()
            made.append(Subject(subject, str(answer.json()["consent_id"])))

    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(worker(http) for _ in range(parallel)))
    return made


async def measure_rate(
    deployment: Deployment, subjects: list[Subject], rate: float, seconds: float
) -> RateResult:
    """Send `rate` referrals per second for `seconds`, one per subject, and time each one
    from its 201 to the social caseworker's SSE event."""
    count = int(rate * seconds)
    if count > len(subjects):
        raise ValueError(f"{count} referrals need as many subjects; have {len(subjects)}")
    result = RateResult(offered_per_s=rate, seconds=seconds)
    created: dict[str, float] = {}
    # httpcore scans its whole pool and queue for every request: thousands of requests
    # queued inside it at 200/s cost the generator more CPU than the system under test. So
    # the queue is kept here (IN_FLIGHT requests on the wire at most) and the stream has a
    # client of its own.
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    on_the_wire = asyncio.Semaphore(IN_FLIGHT)
    async with (
        httpx.AsyncClient(timeout=60, limits=limits) as http,
        httpx.AsyncClient(timeout=60) as stream,
        _SseArrivals(stream, deployment) as arrivals,
    ):
        loop = asyncio.get_running_loop()
        school = deployment.services["school"].url + "/referrals"
        headers = deployment.headers(f"{SCHOOL}.agency_system")

        async def send(subject: Subject) -> None:
            body = {
                "sender": SCHOOL, "receiver": SOCIAL, "subject": subject.subject,
                "reason": "absence", "data_categories": ["attendance"],
                "legal_basis": {"kind": "consent", "consent_id": subject.consent_id},
            }  # fmt: skip
            async with on_the_wire:
                sent_at = time.perf_counter()
                try:
                    answer = await http.post(school, json=body, headers=headers)
                except httpx.HTTPError:
                    result.failed += 1  # e.g. the connection reset by an overloaded server
                    return
                answered_at = time.perf_counter()
            if answer.status_code != 201:
                result.refused += 1
                return
            created[answer.json()["referral_id"]] = answered_at
            result.http_ms.append((answered_at - sent_at) * 1000)

        tasks: list[asyncio.Task[None]] = []
        start = loop.time() + 0.05
        for i, subject in enumerate(subjects[:count]):
            due = start + i / rate
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            result.send_lag_ms_max = max(result.send_lag_ms_max, (loop.time() - due) * 1000)
            tasks.append(asyncio.create_task(send(subject)))
        sent_for = max(loop.time() - start, 1e-9)
        await asyncio.gather(*tasks)
        answered_for = max(loop.time() - start, 1e-9)
        await arrivals.wait_for(created.keys(), timeout_s=max(30.0, seconds))
    result.sent = count
    result.sent_per_s = (count - 1) / sent_for if count > 1 else float(count)
    result.created = len(created)
    result.created_per_s = len(created) / answered_for
    seen = {rid: arrivals.times[rid] for rid in created if rid in arrivals.times}
    result.delivered = len(seen)
    result.latencies_ms = [(seen[rid] - created[rid]) * 1000 for rid in seen]
    return result


class _SseArrivals:
    """The social caseworker's live stream: when each new referral was notified."""

    def __init__(self, http: httpx.AsyncClient, deployment: Deployment) -> None:
        social = deployment.services["social"].url
        self._url = f"{social}/agencies/{SOCIAL}/notifications/stream"
        self._headers = deployment.headers(f"{SOCIAL}.caseworker")
        self._http = http
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.times: dict[str, float] = {}
        self._wanted: set[str] = set()
        self._all_seen = asyncio.Event()

    async def __aenter__(self) -> _SseArrivals:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), 30)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def wait_for(self, referral_ids: Iterable[str], timeout_s: float) -> None:
        """Until every referral in `referral_ids` was notified, or `timeout_s` passed."""
        self._wanted = set(referral_ids) - self.times.keys()
        self._all_seen.clear()
        if self._wanted:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_seen.wait(), timeout_s)

    async def _listen(self) -> None:
        async with self._http.stream("GET", self._url, headers=self._headers, timeout=None) as r:
            r.raise_for_status()
            async for kind, data in sse_events(r.aiter_lines()):
                if kind == "ready":
                    self._ready.set()
                elif kind == "handoff":
                    at = time.perf_counter()
                    note = json.loads(data)
                    if note["event_type"] == type_of(ReferralRequested):
                        self.times.setdefault(note["referral_id"], at)
                        self._wanted.discard(note["referral_id"])
                        if not self._wanted:
                            self._all_seen.set()
