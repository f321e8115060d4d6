"""The checker: once the deployment is quiet, read each service's own database, the audit log
and the dead-letter topic, and hold them against the ledger (what the load was told).

- **Lost**: a confirmed handoff that some agency service does not know, or where it lacks an
  event the load was told of, or is not in the state those events lead to; an event missing
  from the audit log or from the reporting read model; a party not told (no notification).
- **Duplicated**: an effect that happened more than once: an extra event on a timeline, in the
  audit log or the read model; two notifications, timeline rows or audit entries for one event
  (unique keys make these last three impossible, so they are counted but cannot occur); two
  outgoing events of one type caused by the same event (a second acknowledgement, say); a
  notification streamed twice to a client; an event applied again after later ones (the
  handoff's last event is no longer the last on its timeline); a redelivered event applied
  again until it failed on a unique key and was dead-lettered.
- **Backwards**: a timeline step the state machine does not allow from the state before it,
  or a handoff whose state is not the one its timeline ends in.

Handoffs with a call whose outcome nobody could settle are left out, and counted.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from chaos.deployment import REGISTRY, Deployment
from chaos.ledger import Ledger
from contracts import services as service_list
from contracts.catalogue import event_types
from contracts.codes import HandoffKind
from contracts.lifecycle import OPENING_EVENTS, ReferralState, Side, find_transition
from contracts.topics import DEAD_LETTER
from deploy.deadletters import DeadLetter, read_dead_letters

AGENCY_SERVICES = service_list.names(service_list.AGENCY_SERVICES)
HANDOFF_EVENT_TYPES = event_types(handoff=True)
#: Made by a service on its agency's behalf: that agency's own people are told too.
TELLS_PRODUCER = event_types(tells_producer=True)
#: At most this many examples of each finding are kept for the summary.
EXAMPLES = 20


@dataclass
class Snapshot:
    """What the services hold once the deployment is quiet."""

    handoffs: dict[str, dict[str, asyncpg.Record]] = field(default_factory=dict)
    timelines: dict[str, dict[str, list[asyncpg.Record]]] = field(default_factory=dict)
    notifications: dict[str, Counter[tuple[str, str]]] = field(default_factory=dict)
    outboxes: dict[str, list[asyncpg.Record]] = field(default_factory=dict)
    audit: list[asyncpg.Record] = field(default_factory=list)
    audit_types: dict[str, list[str]] = field(default_factory=dict)
    reporting_referrals: set[str] = field(default_factory=set)
    reporting_events: dict[str, list[str]] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: (consumer, event id) claimed in an inbox, for the dead-lettered events only.
    claimed: set[tuple[str, str]] = field(default_factory=set)


async def _fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def take_snapshot(deployment: Deployment) -> Snapshot:
    """Read everything the checks need, service by service."""
    snap = Snapshot()
    for name in AGENCY_SERVICES:
        dsn = deployment.services[name].database_dsn
        rows = await _fetch(
            dsn,
            "SELECT referral_id::text AS rid, kind, sender, receiver, state,"
            " last_event_id::text AS last_event_id FROM handoffs",
        )
        snap.handoffs[name] = {r["rid"]: r for r in rows}
        timeline: dict[str, list[asyncpg.Record]] = defaultdict(list)
        for r in await _fetch(
            dsn,
            "SELECT referral_id::text AS rid, event_id::text AS event_id, event_type, producer,"
            " state_after FROM handoff_events ORDER BY seq",
        ):
            timeline[r["rid"]].append(r)
        snap.timelines[name] = dict(timeline)
        snap.notifications[name] = Counter(
            (r["agency"], r["event_id"])
            for r in await _fetch(
                dsn, "SELECT agency, event_id::text AS event_id FROM notifications"
            )
        )
    for name, process in deployment.services.items():
        snap.outboxes[name] = await _fetch(
            process.database_dsn,
            "SELECT event_id::text AS event_id, event_type, sent_at IS NOT NULL AS sent,"
            " withheld_at IS NOT NULL AS withheld FROM outbox",
        )
    snap.audit = await _fetch(
        deployment.services["audit"].database_dsn,
        "SELECT event_id::text AS event_id, event_type, referral_id::text AS rid,"
        " convert_from(event, 'UTF8')::json ->> 'causation_id' AS causation FROM audit_entries"
        " ORDER BY seq",
    )
    audit_types: dict[str, list[str]] = defaultdict(list)
    for r in snap.audit:
        # Reads of a referral (RecordAccessed) are about it too, but are not its events.
        if r["event_type"] in HANDOFF_EVENT_TYPES:
            audit_types[r["rid"]].append(r["event_type"])
    snap.audit_types = dict(audit_types)
    reporting = deployment.services["reporting"].database_dsn
    snap.reporting_referrals = {
        r["rid"] for r in await _fetch(reporting, "SELECT referral_id::text AS rid FROM referrals")
    }
    events: dict[str, list[str]] = defaultdict(list)
    for r in await _fetch(
        reporting, "SELECT referral_id::text AS rid, event_type FROM referral_events"
    ):
        events[r["rid"]].append(r["event_type"])
    snap.reporting_events = dict(events)
    client = deployment.stack.kafka.client_config()
    snap.dead_letters = await read_dead_letters(client, deployment.prefix + DEAD_LETTER.name)
    ids = sorted({d.event_id for d in snap.dead_letters if d.event_id})
    for process in deployment.services.values():
        snap.claimed |= {
            (r["consumer"], r["event_id"])
            for r in await _fetch(
                process.database_dsn,
                "SELECT consumer, event_id::text AS event_id FROM inbox"
                " WHERE event_id = ANY($1::uuid[])",
                ids,
            )
        }
    return snap


@dataclass
class Findings:
    """What the checks found; each list holds one line per finding."""

    lost: list[str] = field(default_factory=list)
    lost_referrals: set[str] = field(default_factory=set)
    duplicated: list[str] = field(default_factory=list)
    backwards: list[str] = field(default_factory=list)
    audit_missing: int = 0
    audit_verified: bool = False
    checked_referrals: int = 0
    unsettled_referrals: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)

    def examples(self) -> dict[str, list[str]]:
        """A few of each kind of finding, for people."""
        return {
            "lost": self.lost[:EXAMPLES],
            "duplicated": self.duplicated[:EXAMPLES],
            "backwards": self.backwards[:EXAMPLES],
        }


def check(ledger: Ledger, snap: Snapshot) -> Findings:
    """Every check above, against one snapshot."""
    found = Findings()
    settled = ledger.settled()
    found.checked_referrals = len(settled)
    found.unsettled_referrals = len(ledger.handoffs) - len(settled)
    for expected in settled:
        for problem in _lost(expected.referral_id, expected.events, expected.final_state, snap):
            found.lost.append(problem)
            found.lost_referrals.add(expected.referral_id)
        found.duplicated += _extra(expected.referral_id, expected.events, snap)
    found.duplicated += _repeated_effects(snap)
    found.backwards += ledger.backwards_seen
    for agency, n in ledger.stream_duplicates.items():
        found.duplicated += [f"{agency}: a notification was streamed to its client again"] * n
    for service in AGENCY_SERVICES:
        for rid, rows in snap.timelines[service].items():
            row = snap.handoffs[service].get(rid)
            found.backwards += _steps_backwards(service, rid, rows, row)
            if row is not None and rows and row["last_event_id"] != rows[-1]["event_id"]:
                found.duplicated.append(
                    f"{service}: {rid} was set back to event {row['last_event_id']} after"
                    f" {rows[-1]['event_type']} {rows[-1]['event_id']}: an event applied again"
                )
    audited = {r["event_id"] for r in snap.audit}
    published = {
        r["event_id"]
        for rows in snap.outboxes.values()
        for r in rows
        if r["sent"] and not r["withheld"]
    }
    found.audit_missing = len(published - audited)
    for letter in snap.dead_letters:
        if letter.event_id and (letter.consumer, letter.event_id) in snap.claimed:
            found.duplicated.append(
                f"{letter.consumer}: {letter.event_type} {letter.event_id} applied again after"
                f" a redelivery and dead-lettered ({letter.reason}: {letter.detail[:120]})"
            )
        else:
            found.dead_lettered[letter.reason] += 1
    return found


def _lost(rid: str, events: list[str], final: ReferralState, snap: Snapshot) -> Iterable[str]:
    for service in AGENCY_SERVICES:
        row = snap.handoffs[service].get(rid)
        if row is None:
            yield f"{service} does not know {rid}"
            continue
        rows = snap.timelines[service].get(rid, [])
        missing = Counter(events) - Counter(r["event_type"] for r in rows)
        if missing:
            yield f"{service}: {rid} lacks {sorted(missing.elements())}"
        elif row["state"] != final.value:
            yield f"{service}: {rid} is {row['state']}, not {final.value}"
        hosted = REGISTRY.hosted_by(service)
        for r in rows:
            for agency in {row["sender"], row["receiver"]} & hosted:
                told = (agency, r["event_id"]) in snap.notifications[service]
                if not told and (agency != r["producer"] or r["event_type"] in TELLS_PRODUCER):
                    yield f"{agency} was not told of {r['event_type']} on {rid}"
    missing = Counter(events) - Counter(snap.audit_types.get(rid, []))
    if missing:
        yield f"the audit log lacks {sorted(missing.elements())} of {rid}"
    if rid not in snap.reporting_referrals:
        yield f"reporting does not know {rid}"
    missing = Counter(events[1:]) - Counter(snap.reporting_events.get(rid, []))
    if missing:
        yield f"reporting lacks {sorted(missing.elements())} of {rid}"


def _extra(rid: str, events: list[str], snap: Snapshot) -> list[str]:
    extra = []
    places = [
        (s, [r["event_type"] for r in snap.timelines[s].get(rid, [])]) for s in AGENCY_SERVICES
    ]
    places.append(("audit", snap.audit_types.get(rid, [])))
    places.append(("reporting", [events[0], *snap.reporting_events.get(rid, [])]))
    for place, seen in places:
        more = Counter(seen) - Counter(events)
        if more:
            extra.append(f"{place}: {rid} has {sorted(more.elements())} more than once")
    return extra


def _repeated_effects(snap: Snapshot) -> list[str]:
    repeated = [
        f"{service}: {n} notifications to {agency} of {event_id}"
        for service, told in snap.notifications.items()
        for (agency, event_id), n in told.items()
        if n > 1
    ]
    for service, timelines in snap.timelines.items():
        rows = Counter(r["event_id"] for rows in timelines.values() for r in rows)
        repeated += [f"{service}: {n} timeline rows for {e}" for e, n in rows.items() if n > 1]
    entries = Counter(r["event_id"] for r in snap.audit)
    repeated += [f"audit: {n} entries for {e}" for e, n in entries.items() if n > 1]
    caused = Counter((r["causation"], r["event_type"]) for r in snap.audit if r["causation"])
    repeated += [
        f"{n} {event_type} events caused by {cause}"
        for (cause, event_type), n in caused.items()
        if n > 1
    ]
    return repeated


def _steps_backwards(
    service: str, rid: str, rows: list[asyncpg.Record], row: asyncpg.Record | None
) -> list[str]:
    if row is None:
        return [f"{service}: {rid} has a timeline but no handoff"]
    kind = HandoffKind(row["kind"])
    problems = []
    state: ReferralState | None = None
    for r in rows:
        if r["event_type"] in OPENING_EVENTS:
            after = ReferralState.REQUESTED if state is None else None
        else:
            side = {row["sender"]: Side.SENDER, row["receiver"]: Side.RECEIVER}.get(r["producer"])
            step = find_transition(r["event_type"], state, side, kind) if state and side else None
            after = (step.target or state) if step else None
        if after is None or after.value != r["state_after"]:
            problems.append(
                f"{service}: {rid} went {state} -> {r['state_after']} by {r['event_type']}"
            )
        state = ReferralState(r["state_after"])
    if rows and row["state"] != rows[-1]["state_after"]:
        problems.append(f"{service}: {rid} is {row['state']} after a timeline ending in {state}")
    return problems


async def verify_audit_log(deployment: Deployment) -> bool:
    """Whether the audit service verifies its whole log against its signed heads."""
    async with httpx.AsyncClient(timeout=120) as http:
        answer = await http.get(
            f"{deployment.services['audit'].url}/audit/verify",
            headers=deployment.headers("auditor"),
        )
    return answer.status_code == 200 and answer.json().get("ok") is True
