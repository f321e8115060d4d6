"""An agency's client: its system and caseworkers calling their service over HTTP, and its
live notification stream.

A command that gets no answer (the service was killed, or its database is restarting) may or
may not have taken effect. It is retried only in ways that cannot make it happen twice: a
state change is looked up first, and a second opening is refused with the id of the first.
"""

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from chaos.deployment import Deployment
from chaos.ledger import Ledger
from contracts.lifecycle import OPENING_EVENTS

Answer = dict[str, Any]
#: Given the answer to a retried command, the result of the earlier call if that took effect.
Settle = Callable[[httpx.Response], Answer | None]
#: Asks the service whether an unanswered command took effect; its result if so.
Lookup = Callable[[], Awaitable[Answer | None]]


class Refused(Exception):
    """The service refused a command for a reason the load did not expect."""

    def __init__(self, message: str, answer: Answer) -> None:
        super().__init__(message)
        self.answer = answer


class Unsettled(Exception):
    """A command stayed unanswered past the client's patience."""


class AgencyClient:
    """One agency calling the service that hosts it, as its caseworkers would."""

    def __init__(
        self, deployment: Deployment, agency: str, ledger: Ledger, patience_s: float
    ) -> None:
        self.agency = agency
        self.service = deployment.service_hosting(agency)
        self.url = deployment.url_of(agency)
        self.headers = deployment.headers(f"{agency}.caseworker")
        self.ledger = ledger
        self.patience_s = patience_s
        # Longer than a stopped service stays stopped: its answer comes late, not never.
        self.http = httpx.AsyncClient(
            base_url=self.url,
            headers=self.headers,
            timeout=httpx.Timeout(20.0, connect=5.0),
            limits=httpx.Limits(max_connections=40),
        )
        self._arrivals: dict[tuple[str, str], asyncio.Event] = {}
        self._seen: set[str] = set()
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Open the live notification stream."""
        self._listener = asyncio.create_task(self._listen(), name=f"stream {self.agency}")
        await asyncio.wait_for(self._ready.wait(), 30)

    async def close(self) -> None:
        """Close the stream and the connections."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self.http.aclose()

    # -- commands ------------------------------------------------------------

    async def command(
        self,
        path: str,
        body: dict[str, Any],
        settle: Settle | None = None,
        lookup: Lookup | None = None,
    ) -> Answer:
        """POST a command until it is answered; see the module docstring for retries."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience_s
        unknown = False
        while True:
            if unknown and lookup is not None:
                found: Answer | None = await self._quietly(lookup)
                if found is not None:
                    self.ledger.settled_by_lookup += 1
                    return found
            answer = await self._quietly(lambda: self.http.post(path, json=body))
            if answer is not None and answer.status_code < 300:
                self.ledger.settled_by_retry += unknown
                answered: Answer = answer.json()
                return answered
            if answer is not None and answer.status_code < 500:
                settled = settle(answer) if unknown and settle is not None else None
                if settled is not None:
                    self.ledger.settled_by_lookup += 1
                    return settled
                refusal = f"{self.agency} {path}: {answer.status_code} {answer.text[:300]}"
                if unknown:
                    # The unanswered call may still have taken effect: nobody can tell.
                    self.ledger.unsettled += 1
                    raise Unsettled(refusal)
                raise Refused(refusal, _json_object(answer))
            if answer is not None:
                self.ledger.server_errors[self.service] += 1
            if not unknown:
                self.ledger.indeterminate += 1
                unknown = True
            if loop.time() > deadline:
                self.ledger.unsettled += 1
                raise Unsettled(f"{self.agency} {path}: no answer in {self.patience_s:.0f}s")
            await asyncio.sleep(0.3 + random.random() * 0.4)

    async def handoff(self, referral_id: str) -> Answer | None:
        """The handoff as this agency's service shows it; None if unknown there (or down)."""
        answer = await self._quietly(
            lambda: self.http.get(f"/referrals/{referral_id}", params={"agency": self.agency})
        )
        if answer is None or answer.status_code != 200:
            return None
        return dict(answer.json())

    @staticmethod
    async def _quietly(call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await call()
        except httpx.TransportError:
            return None

    # -- notifications -------------------------------------------------------

    async def arrival(self, referral_id: str, event_type: str, timeout_s: float) -> None:
        """Wait until this agency is told of `event_type` on the handoff.

        If the stream has said nothing in `timeout_s`, ask the service instead (and count it):
        the notification may be stored but not yet streamed.
        """
        waiter = self._arrivals.setdefault((referral_id, event_type), asyncio.Event())
        try:
            await asyncio.wait_for(waiter.wait(), timeout_s)
            return
        except TimeoutError:
            self.ledger.stream_late += 1
        deadline = asyncio.get_running_loop().time() + self.patience_s
        while not waiter.is_set():
            seen = await self.handoff(referral_id)
            # Only openings and the receipt are waited for: either shows in the state.
            if seen is not None and (event_type in OPENING_EVENTS or seen["state"] != "requested"):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise Unsettled(f"{self.agency} was never told of {event_type} on {referral_id}")
            await asyncio.sleep(0.5)

    async def _listen(self) -> None:
        """Follow the stream, reconnecting with Last-Event-ID so that nothing is missed."""
        cursor: str | None = None
        while True:
            headers = {"Last-Event-ID": cursor} if cursor else {}
            try:
                async with self.http.stream(
                    "GET",
                    f"/agencies/{self.agency}/notifications/stream",
                    headers=headers,
                    timeout=httpx.Timeout(10.0, read=None),
                ) as answer:
                    if answer.status_code != 200:
                        await asyncio.sleep(0.5)
                        continue
                    async for kind, ident, data in _sse(answer.aiter_lines()):
                        if kind == "ready":
                            cursor = cursor or str(json.loads(data)["cursor"])
                            self._ready.set()
                        elif kind == "handoff":
                            cursor = ident or cursor
                            self._notified(json.loads(data))
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.3)

    def _notified(self, notification: dict[str, Any]) -> None:
        event_id = str(notification["event_id"])
        if event_id in self._seen:
            self.ledger.stream_duplicates[self.agency] += 1
            return
        self._seen.add(event_id)
        key = (str(notification["referral_id"]), str(notification["event_type"]))
        self._arrivals.setdefault(key, asyncio.Event()).set()


def _json_object(answer: httpx.Response) -> Answer:
    try:
        found = answer.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


async def _sse(lines: Any) -> Any:
    """(event, id, data) of each Server-Sent Event in a stream of lines."""
    kind, ident, data = "message", "", list[str]()
    async for line in lines:
        if not line:
            if data:
                yield kind, ident, "\n".join(data)
            kind, ident, data = "message", "", list[str]()
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                kind = value
            elif name == "id":
                ident = value
            elif name == "data":
                data.append(value)
