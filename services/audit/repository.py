"""SQL of the audit service: appending under the head row's lock, chain and read-log lookups,
tree nodes for proofs, and batched reads for verification and export."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.catalogue import type_of
from contracts.events import RecordAccessed
from services.audit import domain
from services.features.proofs import merkle
from services.features.proofs.heads import SignedTreeHead, Signer, TreeHead
from services.features.proofs.merkle import Entry, Frontier, Node
from services.kit.database import Connection

_ENTRY_COLUMNS = 'seq, recorded_at, topic, partition, "offset", event, leaf_hash, chain_hash'
# What verification checks: each entry's leaf input, put together from the stored columns by
# the query itself exactly as merkle.leaf_input does (decimal fields, each ended by a newline,
# then the event bytes), so that four values per entry reach Python instead of eight: the
# verifier's cost is mostly per value. Every column is NOT NULL (concat_ws skips NULLs), and
# the verifier still hashes every byte, so a changed column shows as a leaf hash mismatch.
_VERIFY_COLUMNS = (
    "seq, convert_to(concat_ws(E'\\n', seq, (extract(epoch FROM recorded_at) * 1000000)::bigint,"
    " topic, partition, \"offset\", ''), 'UTF8') || event, leaf_hash, chain_hash"
)

ACCESS_TYPE = type_of(RecordAccessed)


def _entry(row: asyncpg.Record) -> Entry:
    return Entry(*row.values())


def _head(row: asyncpg.Record) -> SignedTreeHead:
    return SignedTreeHead(
        size=row["size"],
        root_hash=row["root_hash"],
        timestamp=row["signed_at"],
        signature=row["signature"],
        public_key=row["public_key"],
    )


async def append(
    conn: Connection,
    signer: Signer,
    recorded_at: datetime,
    received: Sequence[tuple[str, int, int, bytes]],
) -> list[Entry]:
    """Append (topic, partition, offset, event bytes) records and sign the new head.

    Must run in the caller's transaction: the head row stays locked until it commits, so
    appends from every consumer and process form one sequence.
    """
    head = await conn.fetchrow(
        "SELECT size, chain_hash, frontier FROM audit_head WHERE only_row FOR UPDATE"
    )
    assert head is not None, "the audit_head row is created by the first migration"
    grown = domain.append(
        Frontier(head["size"], list(head["frontier"])), head["chain_hash"], recorded_at, received
    )
    await conn.executemany(
        f"INSERT INTO audit_entries ({_ENTRY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (
                e.seq,
                e.recorded_at,
                e.topic,
                e.partition,
                e.offset,
                e.event,
                e.leaf_hash,
                e.chain_hash,
            )
            for e in grown.entries
        ],
    )
    if grown.nodes:
        await conn.executemany(
            "INSERT INTO audit_tree_nodes (level, idx, hash) VALUES ($1, $2, $3)",
            [(node.level, node.idx, hashed) for node, hashed in grown.nodes],
        )
    signed = signer.sign(TreeHead(grown.frontier.size, grown.frontier.root(), recorded_at))
    await save_head(conn, signed, grown.chain_hash, grown.frontier)
    return grown.entries


async def save_head(
    conn: Connection, signed: SignedTreeHead, chain: bytes, frontier: Frontier
) -> None:
    """Store the state appending goes on from, with its signed head."""
    await conn.execute(
        "UPDATE audit_head SET size = $1, root_hash = $2, chain_hash = $3, frontier = $4,"
        " signed_at = $5, signature = $6, public_key = $7 WHERE only_row",
        signed.size,
        signed.root_hash,
        chain,
        frontier.hashes,
        signed.timestamp,
        signed.signature,
        signed.public_key,
    )


async def head_state(conn: Connection) -> tuple[SignedTreeHead | None, bytes, Frontier]:
    """The latest signed head (None before the first signature), chain hash and frontier."""
    row = await conn.fetchrow("SELECT * FROM audit_head WHERE only_row")
    assert row is not None, "the audit_head row is created by the first migration"
    signed = _head(row) if row["signature"] is not None else None
    return signed, row["chain_hash"], Frontier(row["size"], list(row["frontier"]))


async def current_head(conn: Connection) -> SignedTreeHead | None:
    """The latest signed tree head."""
    return (await head_state(conn))[0]


async def publish_head(conn: Connection) -> SignedTreeHead | None:
    """Keep the current signed head among the published ones, if the log grew since."""
    row = await conn.fetchrow(
        "INSERT INTO audit_published_heads (size, root_hash, signed_at, signature, public_key)"
        " SELECT size, root_hash, signed_at, signature, public_key FROM audit_head"
        " WHERE only_row AND signature IS NOT NULL"
        "   AND size > coalesce((SELECT max(size) FROM audit_published_heads), -1)"
        " RETURNING *"
    )
    return _head(row) if row is not None else None


async def published_heads(conn: Connection, limit: int | None = None) -> list[SignedTreeHead]:
    """Published heads, newest first."""
    rows = await conn.fetch(
        "SELECT * FROM audit_published_heads ORDER BY size DESC LIMIT $1", limit
    )
    return [_head(r) for r in rows]


async def entry(conn: Connection, seq: int) -> Entry | None:
    """One entry by its position."""
    row = await conn.fetchrow(f"SELECT {_ENTRY_COLUMNS} FROM audit_entries WHERE seq = $1", seq)
    return _entry(row) if row is not None else None


async def nodes(conn: Connection, wanted: Iterable[Node]) -> dict[Node, bytes]:
    """Stored hashes of perfect subtrees: leaf hashes for level 0, tree nodes above."""
    wanted = list(wanted)
    leaves = [n.idx for n in wanted if n.level == 0]
    inner = [n for n in wanted if n.level > 0]
    found: dict[Node, bytes] = {}
    if leaves:
        rows = await conn.fetch(
            "SELECT seq, leaf_hash FROM audit_entries WHERE seq = ANY($1::bigint[])", leaves
        )
        found.update({Node(0, r["seq"]): r["leaf_hash"] for r in rows})
    if inner:
        rows = await conn.fetch(
            "SELECT n.level, n.idx, n.hash FROM audit_tree_nodes n"
            " JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx)"
            "   ON n.level = w.level AND n.idx = w.idx",
            [n.level for n in inner],
            [n.idx for n in inner],
        )
        found.update({Node(r["level"], r["idx"]): r["hash"] for r in rows})
    return found


async def chain_before(conn: Connection, seq: int) -> bytes | None:
    """The chain hash that entry `seq` follows from (None if entry seq - 1 is missing)."""
    if seq == 0:
        return merkle.GENESIS_CHAIN
    value: bytes | None = await conn.fetchval(
        "SELECT chain_hash FROM audit_entries WHERE seq = $1", seq - 1
    )
    return value


async def verification_rows(
    conn: Connection, start: int, end: int | None, batch: int = 20_000
) -> AsyncGenerator[list[Any], None]:
    """Rows from `start` up to `end` (or all) for the verifier, in seq order, in batches
    through a server-side cursor (the caller holds a transaction and closes this generator).

    The next batch is asked for before one is handed over, so that the database reads and
    sends it while the caller hashes.
    """
    cursor = await conn.cursor(
        f"SELECT {_VERIFY_COLUMNS} FROM audit_entries"
        " WHERE seq >= $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq",
        start,
        end,
    )
    following = asyncio.ensure_future(cursor.fetch(batch))
    try:
        while rows := await following:
            following = asyncio.ensure_future(cursor.fetch(batch))
            await asyncio.sleep(0)  # lets that request go out before the caller starts hashing
            yield rows
    finally:
        # Stopped early: the connection takes one request at a time, so let this one end.
        with contextlib.suppress(Exception):
            await following


async def export_rows(conn: Connection, batch: int = 10_000) -> AsyncIterator[list[Entry]]:
    """Every entry in seq order, in batches (the caller holds a transaction)."""
    cursor = await conn.cursor(f"SELECT {_ENTRY_COLUMNS} FROM audit_entries ORDER BY seq")
    while rows := await cursor.fetch(batch):
        yield [_entry(r) for r in rows]


async def linked_entries(
    conn: Connection, referral_ids: Iterable[UUID], event_types: Sequence[str]
) -> list[asyncpg.Record]:
    """(seq, recorded_at, event) of the given event types about the given referrals and every
    referral linked to them by redirects, in either direction, in seq order.

    One statement (the links followed by a recursive query): it reads one snapshot, and a
    chain costs one round trip however many redirects it has.
    """
    return await conn.fetch(
        "WITH RECURSIVE linked(referral_id) AS ("
        "   SELECT unnest($1::uuid[])"
        " UNION"
        # A child's request names its parent; a parent's redirect names its child.
        "   SELECT v.other FROM linked l"
        "   JOIN audit_entries e"
        "     ON (e.referral_id = l.referral_id"
        "         AND (e.parent_referral_id IS NOT NULL OR e.new_referral_id IS NOT NULL))"
        "     OR e.parent_referral_id = l.referral_id OR e.new_referral_id = l.referral_id"
        "   CROSS JOIN LATERAL"
        "     (VALUES (e.referral_id), (e.parent_referral_id), (e.new_referral_id)) AS v(other)"
        "   WHERE v.other IS NOT NULL"
        ")"
        " SELECT seq, recorded_at, event FROM audit_entries"
        " WHERE referral_id IN (SELECT referral_id FROM linked) AND event_type = ANY($2::text[])"
        " ORDER BY seq",
        list(referral_ids),
        list(event_types),
    )


async def subject_referrals(
    conn: Connection, subject: str, event_types: Sequence[str]
) -> set[UUID]:
    """Every referral with an event about `subject`."""
    rows = await conn.fetch(
        "SELECT DISTINCT referral_id FROM audit_entries"
        " WHERE subject = $1 AND event_type = ANY($2::text[])",
        subject,
        list(event_types),
    )
    return {r["referral_id"] for r in rows}


async def reads(
    conn: Connection,
    subject: str | None,
    accessor: str | None,
    agency: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[asyncpg.Record]:
    """RecordAccessed entries matching every given filter, oldest first."""
    filters = {
        "subject = $%d": subject,
        "accessor = $%d": accessor,
        "producer = $%d": agency,
        "occurred_at >= $%d": since,
        "occurred_at < $%d": until,
    }
    # Only the filters given, so that the planner can pick the matching partial index.
    given = [(condition, value) for condition, value in filters.items() if value is not None]
    where = "".join(f" AND {condition % n}" for n, (condition, _) in enumerate(given, start=2))
    return await conn.fetch(
        "SELECT seq, recorded_at, event FROM audit_entries"
        # A literal, not a parameter, so that the planner can match the partial indexes.
        f" WHERE event_type = '{ACCESS_TYPE}'{where} ORDER BY occurred_at, seq LIMIT $1",
        limit,
        *(value for _, value in given),
    )
