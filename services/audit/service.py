"""Use cases of the audit log, shared by the HTTP API, the command line and the Kafka handler:
append, sign and publish heads, prove, verify, export, and answer chain and read-log queries."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.transaction import Transaction

from contracts import utc_now
from services.audit import chains, exported
from services.audit import repository as repo
from services.audit.chains import Chain, Recorded
from services.audit.domain import Received, Verifier
from services.features.proofs import merkle
from services.features.proofs.checks import Mismatch, Problem
from services.features.proofs.heads import SignedTreeHead, Signer, TreeHead
from services.features.proofs.merkle import Entry, Node
from services.kit.database import Connection
from services.kit.refusals import Refused


class NotInLog(Refused):
    """The entry, tree size or referral asked for is not in the log."""

    def __init__(self, detail: str) -> None:
        super().__init__("not_found", detail)


@dataclass(frozen=True)
class InclusionProof:
    """That entry `seq` is in the tree of `size` entries whose root is `root_hash`, and the
    signed head current when the proof was made."""

    seq: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]
    root_hash: bytes
    head: SignedTreeHead


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the log, or part of it, against its hashes and signed heads."""

    start: int
    end: int
    checked: int
    head: SignedTreeHead | None
    mismatch: Mismatch | None

    @property
    def ok(self) -> bool:
        """Whether everything checked matched."""
        return self.mismatch is None

    def to_json(self) -> dict[str, Any]:
        """The report, as the API and command line give it."""
        return {
            "ok": self.ok,
            "start": self.start,
            "end": self.end,
            "checked": self.checked,
            "head": self.head.to_json() if self.head else None,
            "first_mismatch": self.mismatch.to_json() if self.mismatch else None,
        }


@dataclass
class Recorder:
    """Appends to the log and signs its heads: the audit service's only writer."""

    pool: asyncpg.Pool
    signer: Signer

    async def record(self, conn: Connection, received: Sequence[Received]) -> None:
        """Append events exactly as they were received, with where they came from, in one
        append (one head lock, one signature)."""
        for one in received:
            try:
                one.value.decode()
            except UnicodeDecodeError as exc:
                raise Refused("not_utf8", f"the audit log keeps UTF-8 JSON only: {exc}") from exc
        records = [(one.topic, one.partition, one.offset, one.value) for one in received]
        await repo.append(conn, self.signer, utc_now(), records)

    async def sign_head(self) -> SignedTreeHead:
        """Make sure the current head is signed with this service's key (at start-up)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM audit_head WHERE only_row FOR UPDATE")
            signed, chain, frontier = await repo.head_state(conn)
            if signed is None or signed.public_key != self.signer.public_key:
                signed = self.signer.sign(TreeHead(frontier.size, frontier.root(), utc_now()))
                await repo.save_head(conn, signed, chain, frontier)
            return signed

    async def publish_head(self) -> SignedTreeHead | None:
        """Keep the current signed head among the published ones, if the log has grown."""
        async with self.pool.acquire() as conn:
            return await repo.publish_head(conn)


@dataclass
class AuditLog:
    """What auditors may do with the log: read, prove, verify, export. Heads count only if
    signed by `public_key`, the log's own key, which verification needs."""

    pool: asyncpg.Pool
    public_key: bytes | None = None

    async def head(self) -> SignedTreeHead:
        """The latest signed tree head."""
        async with self.pool.acquire() as conn:
            signed = await repo.current_head(conn)
        if signed is None:
            raise NotInLog("no signed head yet")
        return signed

    async def published_heads(self, limit: int) -> list[SignedTreeHead]:
        """Heads published so far, newest first."""
        async with self.pool.acquire() as conn:
            return await repo.published_heads(conn, limit)

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        """A connection in one repeatable-read transaction for an auditor's read: what is read
        and the record of that read, staged by the caller on the same connection, commit
        together when the block ends, before the answer is given."""
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            yield conn

    @staticmethod
    async def entry(conn: Connection, seq: int) -> Entry:
        """One entry."""
        found = await repo.entry(conn, seq)
        if found is None:
            raise NotInLog(f"no entry {seq}")
        return found

    async def inclusion_proof(self, seq: int, size: int | None = None) -> InclusionProof:
        """Proof that entry `seq` is in the tree of `size` entries (default: the current head)."""
        async with self.pool.acquire() as conn, _snapshot(conn):
            head = await repo.current_head(conn)
            if head is None:
                raise NotInLog("no signed head yet")
            size = head.size if size is None else size
            if not 0 <= seq < size <= head.size:
                raise NotInLog(f"entry {seq} is not in a tree of {size} of {head.size} entries")
            ranges = merkle.inclusion_ranges(seq, size)
            stored = await self._nodes(conn, [*ranges, (seq, seq + 1), (0, size)])
        return InclusionProof(
            seq,
            size,
            stored[Node(0, seq)],
            merkle.range_hashes(ranges, stored),
            merkle.range_hashes([(0, size)], stored)[0],
            head,
        )

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """Proof that the tree of `second` entries extends the tree of `first` entries."""
        async with self.pool.acquire() as conn, _snapshot(conn):
            head_size = (await repo.head_state(conn))[2].size
            if not 0 < first <= second <= head_size:
                raise NotInLog(f"no consistency proof from {first} to {second} of {head_size}")
            ranges = merkle.consistency_ranges(first, second)
            stored = await self._nodes(conn, ranges)
        return merkle.range_hashes(ranges, stored)

    async def verify(self, start: int = 0, end: int | None = None) -> Verification:
        """Check entries [start, end) (default: the whole log) and report the first mismatch.

        The whole log is also checked against the signed head and every published head:
        entries missing at the end, rows the head does not cover, and stretches rewritten
        with fresh hashes all show. Reads one consistent snapshot, in large batches, and
        hashes each batch in a worker thread while the next one arrives.
        """
        key = self.public_key
        if key is None:
            raise ValueError("verifying needs the log's public key")
        async with self.pool.acquire() as conn, _snapshot(conn):
            head = await repo.current_head(conn)
            size = head.size if head is not None else 0
            whole = start == 0 and end is None
            end = size if end is None else min(end, size)
            if not 0 <= start <= end:
                raise NotInLog(f"no entries from {start} to {end} in a log of {size}")
            early = await _check_heads(conn, key, head, whole)
            previous = await repo.chain_before(conn, start) if early is None else None
            if early is None and previous is None:
                early = Mismatch(start - 1, Problem.MISSING, "the entry before the range is gone")
            if early is not None:
                return Verification(start, end, 0, head, early)
            trusted = [h for h in await repo.published_heads(conn) if h.size <= size]
            verifier = Verifier(
                start,
                previous or merkle.GENESIS_CHAIN,
                heads=[*trusted, head] if whole and head is not None else (),
            )
            rows = repo.verification_rows(conn, start, None if whole else end)
            async with contextlib.aclosing(rows) as batches:
                async for batch in batches:
                    # Hashing in a worker thread: meanwhile the event loop takes in the next
                    # batch (the database keeps sending) and answers other requests.
                    if not await asyncio.to_thread(verifier.feed, batch):
                        break
            return Verification(start, end, verifier.checked - start, head, verifier.finish(end))

    async def export(self) -> AsyncIterator[str]:
        """The log as JSON lines: the signed head first, then every entry it covers."""
        async with self.pool.acquire() as conn, _snapshot(conn):
            head = await repo.current_head(conn)
            if head is None:
                raise NotInLog("no signed head yet")
            yield exported.head_line(head)
            async for entries in repo.export_rows(conn):
                yield "".join(exported.entry_line(e) for e in entries)

    @staticmethod
    async def chain(conn: Connection, referral_id: UUID) -> Chain:
        """The chain that holds `referral_id`."""
        rows = await repo.linked_entries(conn, [referral_id], chains.CHAIN_EVENT_TYPES)
        found = chains.chain_of(referral_id, chains.assemble(_recorded(rows)))
        if found is None:
            raise NotInLog(f"no events about referral {referral_id}")
        return found

    @staticmethod
    async def subject_chains(conn: Connection, subject: str) -> list[Chain]:
        """Every chain about `subject`, oldest first."""
        referrals = await repo.subject_referrals(conn, subject, chains.CHAIN_EVENT_TYPES)
        rows = await repo.linked_entries(conn, referrals, chains.CHAIN_EVENT_TYPES)
        return chains.assemble(_recorded(rows))

    @staticmethod
    async def reads(
        conn: Connection,
        subject: str | None = None,
        accessor: str | None = None,
        agency: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[Recorded]:
        """Reads of persons' records (RecordAccessed), oldest first, by every filter given."""
        rows = await repo.reads(conn, subject, accessor, agency, since, until, limit)
        return _recorded(rows)

    @staticmethod
    async def _nodes(conn: Connection, ranges: list[tuple[int, int]]) -> dict[Node, bytes]:
        wanted = merkle.nodes_for(ranges)
        stored = await repo.nodes(conn, wanted)
        if len(stored) != len(wanted):
            raise NotInLog("tree nodes are missing: verify the log")
        return stored


def _snapshot(conn: Connection) -> Transaction:
    """A read-only transaction that sees one state of the log throughout."""
    return conn.transaction(isolation="repeatable_read", readonly=True)


def _recorded(rows: list[asyncpg.Record]) -> list[Recorded]:
    return [Recorded.of(r["seq"], r["recorded_at"], r["event"]) for r in rows]


async def _check_heads(
    conn: Connection, key: bytes, head: SignedTreeHead | None, whole: bool
) -> Mismatch | None:
    """Signatures by this log's key, and, for the whole log, no published head beyond it."""
    if head is None:
        return None
    if not head.verify(key):
        return Mismatch(None, Problem.HEAD_SIGNATURE, "the current head is not signed by us")
    published = await repo.published_heads(conn)
    forged = next((h for h in published if not h.verify(key)), None)
    if forged is not None:
        return Mismatch(
            None, Problem.HEAD_SIGNATURE, f"the head published at {forged.size} is not ours"
        )
    if whole and published and published[0].size > head.size:
        return Mismatch(
            head.size,
            Problem.MISSING,
            f"a head of {published[0].size} entries was published; {head.size} are left",
        )
    return None
