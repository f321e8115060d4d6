"""Dead letters: list what the consumers gave up on, with why, and replay chosen ones.

A consumer dead-letters a message it cannot decode at once, and one whose handling kept
failing after its retries; the dead letter keeps the original key and bytes, and says in its
headers which consumer gave up, why (``dlq.reason``, ``dlq.detail``) and where the message came
from (``dlq.source_topic``, ``dlq.source_partition``, ``dlq.source_offset``). Once the cause is
fixed (a consent recorded, a service repaired), ``replay`` publishes the original key and bytes
to the source topic again. Every consumer of that topic then handles it; those that had
already handled it skip it, because their inbox knows the event id.

  python -m deploy deadletters list [--reason R] [--consumer C] [--json]
  python -m deploy deadletters replay --offset P:O [--offset P:O ...]
  python -m deploy deadletters replay --event-id ID [--event-id ID ...]

The broker address and the admin login come from ``.run/stack/stack.json`` (``make run``), or
from ``--bootstrap``, ``--username`` and ``--password-file``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.topics import DEAD_LETTER

from .kafka_jars import REPO_ROOT
from .kafka_security import ADMIN, MECHANISM

__all__ = [
    "DeadLetter",
    "add_arguments",
    "client_config",
    "for_replay",
    "parse_position",
    "read_dead_letters",
    "replay",
    "run",
    "select",
]

DEFAULT_STACK_FILE = REPO_ROOT / ".run" / "stack" / "stack.json"
#: Header a replayed message carries: the dead letter it was replayed from.
REPLAYED_FROM = "dlq.replayed_from"


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]

    @property
    def position(self) -> str:
        """``partition:offset`` in the dead-letter topic."""
        return f"{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        """Why the consumer gave up (a decode problem, a refusal, ``handler_failed``)."""
        return self.headers.get("dlq.reason", "")

    @property
    def detail(self) -> str:
        """What went wrong, in words."""
        return self.headers.get("dlq.detail", "")

    @property
    def consumer(self) -> str:
        """The consumer that gave up (``<service>.<consumer>``)."""
        return self.headers.get("dlq.consumer", "")

    @property
    def attempts(self) -> int:
        """How often the consumer tried (0: refused unread or undecodable)."""
        return int(self.headers.get("dlq.attempts", "0") or 0)

    @property
    def source(self) -> tuple[str, int, int] | None:
        """(topic, partition, offset) the message was consumed from."""
        try:
            return (
                self.headers["dlq.source_topic"],
                int(self.headers["dlq.source_partition"]),
                int(self.headers["dlq.source_offset"]),
            )
        except (KeyError, ValueError):
            return None

    @property
    def event(self) -> Mapping[str, Any]:
        """The message as a JSON object, or empty when it is not one."""
        try:
            found = json.loads(self.value)
        except (ValueError, UnicodeDecodeError):
            return {}
        return found if isinstance(found, dict) else {}

    @property
    def event_id(self) -> str | None:
        """The event id the message claims, if it has one."""
        found = self.event.get("event_id")
        return found if isinstance(found, str) else None

    @property
    def event_type(self) -> str | None:
        """The event type the message claims, if it has one."""
        found = self.event.get("event_type")
        return found if isinstance(found, str) else None

    def to_json(self) -> dict[str, Any]:
        """What ``list --json`` prints (without the message bytes)."""
        source = self.source
        return {
            "position": self.position,
            "consumer": self.consumer,
            "reason": self.reason,
            "detail": self.detail,
            "attempts": self.attempts,
            "source": f"{source[0]} {source[1]}:{source[2]}" if source else None,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "bytes": len(self.value),
        }


def parse_position(text: str) -> tuple[int, int]:
    """``"P:O"`` as (partition, offset)."""
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise argparse.ArgumentTypeError(f"expected PARTITION:OFFSET, got {text!r}")
    return int(partition), int(offset)


def select(
    letters: Iterable[DeadLetter],
    reason: str | None = None,
    consumer: str | None = None,
    positions: Iterable[tuple[int, int]] = (),
    event_ids: Iterable[str] = (),
) -> list[DeadLetter]:
    """The dead letters matching every filter given (positions and ids: any of them)."""
    wanted_positions, wanted_ids = set(positions), set(event_ids)
    return [
        letter
        for letter in letters
        if (reason is None or letter.reason == reason)
        and (consumer is None or letter.consumer == consumer)
        and (not wanted_positions or (letter.partition, letter.offset) in wanted_positions)
        and (not wanted_ids or letter.event_id in wanted_ids)
    ]


def for_replay(letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    """One dead letter per source message, in order: several consumers may have given up on
    the same message, and publishing it once reaches all of them."""
    chosen: dict[tuple[str, int, int], DeadLetter] = {}
    for letter in letters:
        source = letter.source
        if source is None:
            raise ValueError(f"dead letter {letter.position} does not say where it came from")
        chosen.setdefault(source, letter)
    return list(chosen.values())


async def read_dead_letters(client: Mapping[str, Any], topic: str) -> list[DeadLetter]:
    """Every record on the dead-letter topic now, in partition and offset order.

    Reads with assigned partitions and no consumer group, so it commits nothing and
    disturbs no one.
    """
    consumer = AIOKafkaConsumer(**client, enable_auto_commit=False)
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        # Without a subscription nothing fills the metadata that partitions_for_topic reads.
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            raise ValueError(f"no topic {topic}")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        left = {tp for tp, end in ends.items() if end > 0}
        while left:
            batches = await consumer.getmany(*left, timeout_ms=1000, max_records=10_000)
            for tp, records in batches.items():
                letters += [
                    DeadLetter(
                        r.partition,
                        r.offset,
                        r.key,
                        r.value or b"",
                        {k: v.decode(errors="replace") for k, v in r.headers or ()},
                    )
                    for r in records
                    if r.offset < ends[tp]
                ]
            left = {tp for tp in left if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return sorted(letters, key=lambda letter: (letter.partition, letter.offset))


async def replay(
    client: Mapping[str, Any], letters: Sequence[DeadLetter]
) -> list[tuple[DeadLetter, str, int, int]]:
    """Publish each letter's original key and bytes to its source topic again; where each
    went (letter, topic, partition, offset)."""
    producer = AIOKafkaProducer(**client, acks="all", enable_idempotence=True)
    await producer.start()
    sent: list[tuple[DeadLetter, str, int, int]] = []
    try:
        for letter in for_replay(letters):
            source = letter.source
            assert source is not None, "for_replay keeps only letters with a source"
            headers = [(REPLAYED_FROM, letter.position.encode())]
            meta = await producer.send_and_wait(
                source[0], letter.value, key=letter.key, headers=headers
            )
            sent.append((letter, source[0], meta.partition, meta.offset))
    finally:
        await producer.stop()
    return sent


def client_config(
    stack_file: Path,
    bootstrap: str | None = None,
    username: str = ADMIN,
    password_file: Path | None = None,
) -> dict[str, Any]:
    """Keyword arguments for aiokafka clients: the options given, the rest from ``stack.json``."""
    stack: dict[str, Any] = {}
    if bootstrap is None or password_file is None:
        if not stack_file.is_file():
            raise ValueError(
                f"no {stack_file}: start the stack (make run) or give --bootstrap and"
                " --password-file"
            )
        stack = json.loads(stack_file.read_text())
    password = (
        password_file.read_text().strip()
        if password_file is not None
        else stack["kafka_login"]["passwords"][username]
    )
    return {
        "bootstrap_servers": bootstrap or stack["kafka_bootstrap"],
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": stack.get("kafka_login", {}).get("sasl_mechanism", MECHANISM),
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }


def format_table(letters: Sequence[DeadLetter]) -> str:
    """One line per dead letter, then its detail, for people."""
    lines = [f"{'position':<10} {'consumer':<22} {'reason':<18} {'tries':>5}  source  event"]
    for letter in letters:
        source = letter.source
        where = f"{source[0]} {source[1]}:{source[2]}" if source else "?"
        event = " ".join(filter(None, [letter.event_type, letter.event_id])) or "-"
        lines.append(
            f"{letter.position:<10} {letter.consumer:<22} {letter.reason:<18}"
            f" {letter.attempts:>5}  {where}  {event}"
        )
        if letter.detail:
            lines.append(f"{'':<10} {letter.detail[:200]}")
    lines.append(f"{len(letters)} dead letter(s)")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``deadletters`` subcommands and their options."""
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list dead letters with their reasons")
    listing.add_argument("--reason", help="only this reason (e.g. not_json, handler_failed)")
    listing.add_argument("--consumer", help="only this consumer (e.g. social.handoffs)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    again = actions.add_parser("replay", help="publish chosen dead letters to their source")
    chosen = again.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--offset", type=parse_position, action="append", help="PARTITION:OFFSET in the DLQ"
    )
    chosen.add_argument("--event-id", action="append", help="every dead letter of this event")
    for sub in (listing, again):
        sub.add_argument("--stack", type=Path, default=DEFAULT_STACK_FILE, help="stack.json")
        sub.add_argument("--bootstrap", help="host:port (default: from stack.json)")
        sub.add_argument("--username", default=ADMIN, help="Kafka principal (default admin)")
        sub.add_argument("--password-file", type=Path, help="its password (default: stack.json)")
        sub.add_argument("--topic-prefix", default="", help="prefix of the topics (tests)")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Carry out ``deadletters list`` or ``replay``; the exit code."""
    try:
        client = client_config(args.stack, args.bootstrap, args.username, args.password_file)
        letters = asyncio.run(read_dead_letters(client, args.topic_prefix + DEAD_LETTER.name))
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.action == "list":
        found = select(letters, reason=args.reason, consumer=args.consumer)
        if args.json:
            out.writelines(json.dumps(letter.to_json()) + "\n" for letter in found)
        else:
            print(format_table(found), file=out)
        return 0
    found = select(letters, positions=args.offset or (), event_ids=args.event_id or ())
    if not found:
        print("no dead letter matches", file=out)
        return 1
    for letter, topic, partition, offset in asyncio.run(replay(client, found)):
        print(f"replayed {letter.position} to {topic} {partition}:{offset}", file=out)
    return 0
