"""The handoff changes of one transaction, kept in memory and written when it is done.

Applying an event reads its handoff, saves it, appends to the timeline, stores notifications,
claims the inbox and stages the outbox. Done one statement at a time, a batch of a hundred
events costs some eight hundred round trips to PostgreSQL; through a unit of work it costs one query
for the handoffs and one statement per table, whatever the batch size. Nothing is weakened:
every write still happens in the caller's transaction, and each table receives its rows in
the order the events were applied.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from contracts import Event
from services.features.handoffs import repository as repo
from services.features.handoffs.domain import Handoff
from services.features.handoffs.notifications import NOTIFIED
from services.kit import inbox, outbox
from services.kit.database import Connection


@dataclass
class UnitOfWork:
    """The handoffs a transaction holds (locked) and what it changes, until `flush`."""

    conn: Connection
    consumer_name: str
    topic_prefix: str = ""
    _held: dict[UUID, Handoff | None] = field(default_factory=dict, init=False)
    _saved: dict[UUID, Handoff] = field(default_factory=dict, init=False)
    _timeline: list[tuple[Event, Handoff]] = field(default_factory=list, init=False)
    _notices: list[tuple[str, Handoff, Event]] = field(default_factory=list, init=False)
    _claimed: list[UUID] = field(default_factory=list, init=False)
    _staged: list[outbox.Staged] = field(default_factory=list, init=False)

    async def hold(self, referral_ids: Iterable[UUID]) -> None:
        """Load and lock, with one query, those of these handoffs not held yet."""
        wanted = {referral_id for referral_id in referral_ids if referral_id not in self._held}
        if wanted:
            found = await repo.get_many(self.conn, wanted)
            self._held |= {referral_id: found.get(referral_id) for referral_id in wanted}

    def made_here(self, referral_id: UUID) -> None:
        """Know, without asking the database, that no handoff has `referral_id`: one this
        service has just drawn (a random UUID) for a handoff it opens."""
        self._held.setdefault(referral_id, None)

    async def get(self, referral_id: UUID) -> Handoff | None:
        """A handoff as this transaction has it, with the changes recorded so far."""
        await self.hold([referral_id])
        return self._held[referral_id]

    def record(self, event: Event, handoff: Handoff) -> None:
        """`handoff` as `event` left it: to be saved, with the event on its timeline."""
        self._held[handoff.referral_id] = self._saved[handoff.referral_id] = handoff
        self._timeline.append((event, handoff))

    def notify(self, agency: str, handoff: Handoff, event: Event) -> None:
        """Tell `agency` about `event` on `handoff` (once the transaction commits)."""
        self._notices.append((agency, handoff, event))

    def stage(self, event: Event) -> None:
        """Publish `event`, made here, once the transaction commits; our own copy that comes
        back from Kafka is then a known duplicate to the inbox."""
        self._claimed.append(event.event_id)
        # Made now, under the trace context of whatever made the event.
        self._staged.append(outbox.staged(event, self.topic_prefix))

    async def flush(self) -> None:
        """Write what was recorded, one statement per table, in the caller's transaction;
        once, when the work is done."""
        if self._saved:
            await repo.save_many(self.conn, self._saved.values())
        if self._timeline:
            await repo.append_timeline(self.conn, self._timeline)
        if self._notices:
            await repo.notify(self.conn, self._notices)
            NOTIFIED.ring_after_transaction(self.conn)
        if self._claimed:
            await inbox.claim_many(self.conn, self.consumer_name, self._claimed)
        if self._staged:
            await outbox.add_many(self.conn, self._staged)
