"""Command line of the audit log: ``python -m services.audit.cli <command>``.

Against the audit database (``--dsn``, or SAMVERKAN_DB_DSN), in read-only sessions:
  head                     the latest signed tree head
  chain REFERRAL_ID        a referral's whole chain (``--format text`` for a readable tree)
  subject SUBJECT          every chain about a subject
  reads                    log review: reads by ``--subject``, ``--accessor``, ``--agency``,
                           ``--since``, ``--until``
  verify --public-key KEY  the whole log, or ``--start``/``--end``; names the first bad entry
  export FILE              the log as JSON lines, signed head first (``-`` for stdout)
  proof SEQ                an inclusion proof of one entry, with the entry and the signed head

With nothing but files and the log's public key (what an external auditor has):
  verify-export FILE       an export, against its own head and any ``--head`` kept earlier
  verify-proof FILE        one entry's proof (as ``proof`` or the API gives it)

And for operators:
  keygen                   a new signing key for SAMVERKAN_AUDIT_SIGNING_KEY

Verification commands exit 0 when everything matches and 1 when something does not.
"""

import argparse
import asyncio
import base64
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

import asyncpg
from pydantic import TypeAdapter

from services.audit import chains, exported
from services.audit.chains import Chain
from services.audit.schemas import EntryView, HeadView, InclusionProofView, ReadView
from services.audit.service import AuditLog, NotInLog
from services.features.proofs import checks, heads
from services.kit.settings import DatabaseSettings

_CHAINS: TypeAdapter[list[Chain]] = TypeAdapter(list[Chain])
Command = Callable[[argparse.Namespace], int]
DatabaseCommand = Callable[[AuditLog, argparse.Namespace], Awaitable[int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except NotInLog as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.audit.cli",
        description="Samverkan audit log: chains, log review, verification, export.",
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    def command(
        name: str, run: Command, help: str, database: bool = True
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        if database:
            sub.add_argument("--dsn", help="the audit database (default: SAMVERKAN_DB_DSN)")
        return sub

    command("head", _database(_head), "print the latest signed tree head")
    chain = command("chain", _database(_chain), "print a referral's whole chain")
    chain.add_argument("referral_id", type=UUID)
    chain.add_argument("--format", choices=["json", "text"], default="text")
    subject = command("subject", _database(_subject), "print every chain about a subject")
    subject.add_argument("subject")
    subject.add_argument("--format", choices=["json", "text"], default="text")
    reads = command("reads", _database(_reads), "log review: who read whose records")
    for name in ("--subject", "--accessor", "--agency"):
        reads.add_argument(name)
    reads.add_argument("--since", type=datetime.fromisoformat)
    reads.add_argument("--until", type=datetime.fromisoformat)
    reads.add_argument("--limit", type=int, default=1000)
    verify = command("verify", _database(_verify), "verify the log; name the first bad entry")
    verify.add_argument("--public-key", required=True, help="the log's key, base64")
    verify.add_argument("--start", type=int, default=0)
    verify.add_argument("--end", type=int)
    export = command("export", _database(_export), "write the log as JSON lines")
    export.add_argument(
        "file", type=argparse.FileType("w"), help="where to write, or - for standard output"
    )
    proof = command("proof", _database(_proof), "print the inclusion proof of one entry")
    proof.add_argument("seq", type=int)

    verify_export = command(
        "verify-export", _verify_export, "verify an exported log", database=False
    )
    verify_export.add_argument("file", type=Path)
    verify_export.add_argument("--public-key", required=True, help="the log's key, base64")
    verify_export.add_argument(
        "--head", type=Path, action="append", default=[], help="a published head you kept"
    )
    verify_proof = command(
        "verify-proof", _verify_proof, "verify one entry's inclusion proof", database=False
    )
    verify_proof.add_argument("file", type=Path, help="the proof, as `proof` prints it")
    verify_proof.add_argument("--public-key", required=True, help="the log's key, base64")
    verify_proof.add_argument("--head", type=Path, help="a head you kept, of the proof's size")
    command("keygen", _keygen, "print a new signing key and its public key", database=False)
    return parser


def _database(run: DatabaseCommand) -> Command:
    """Run `run(log, args)` against the database in read-only sessions."""

    def with_log(args: argparse.Namespace) -> int:
        key = getattr(args, "public_key", None)

        async def go() -> int:
            pool = await asyncpg.create_pool(
                args.dsn or DatabaseSettings().dsn,
                min_size=1,
                max_size=2,
                server_settings={"default_transaction_read_only": "on"},
            )
            try:
                return await run(
                    AuditLog(pool, heads.decode_public_key(key) if key else None), args
                )
            finally:
                await pool.close()

        return asyncio.run(go())

    return with_log


def _print(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


async def _head(log: AuditLog, _: argparse.Namespace) -> int:
    _print(HeadView.of(await log.head()).model_dump(mode="json"))
    return 0


async def _chain(log: AuditLog, args: argparse.Namespace) -> int:
    async with log.reading() as conn:
        found = await log.chain(conn, args.referral_id)
    _show([found], args.format)
    return 0


async def _subject(log: AuditLog, args: argparse.Namespace) -> int:
    async with log.reading() as conn:
        found = await log.subject_chains(conn, args.subject)
    _show(found, args.format)
    return 0


def _show(found: list[Chain], fmt: str) -> None:
    if fmt == "text":
        print("\n".join(chains.render(c) for c in found), end="")
    else:
        print(_CHAINS.dump_json(found, indent=2).decode())


async def _reads(log: AuditLog, args: argparse.Namespace) -> int:
    async with log.reading() as conn:
        found = await log.reads(
            conn, args.subject, args.accessor, args.agency, args.since, args.until, args.limit
        )
    _print([ReadView.of(r).model_dump(mode="json") for r in found])
    return 0


async def _verify(log: AuditLog, args: argparse.Namespace) -> int:
    report = await log.verify(args.start, args.end)
    _print(report.to_json())
    return 0 if report.ok else 1


async def _export(log: AuditLog, args: argparse.Namespace) -> int:
    out: TextIO = args.file
    with out:
        async for chunk in log.export():
            out.write(chunk)
    return 0


async def _proof(log: AuditLog, args: argparse.Namespace) -> int:
    view = InclusionProofView.of(await log.inclusion_proof(args.seq)).model_dump(mode="json")
    async with log.reading() as conn:
        entry = EntryView.of(await log.entry(conn, args.seq))
    _print({**view, "entry": entry.model_dump(mode="json")})
    return 0


def _verify_export(args: argparse.Namespace) -> int:
    kept = [heads.SignedTreeHead.from_json(_head_json(path)) for path in args.head]
    with args.file.open() as lines:
        check = exported.check_export(lines, heads.decode_public_key(args.public_key), kept)
    _print(check.to_json())
    return 0 if check.mismatch is None else 1


def _verify_proof(args: argparse.Namespace) -> int:
    proof = json.loads(args.file.read_text())
    kept = heads.SignedTreeHead.from_json(_head_json(args.head)) if args.head else None
    mismatch = checks.check_inclusion(
        proof, heads.decode_public_key(args.public_key), proof.get("entry"), kept
    )
    _print({"ok": mismatch is None, "seq": proof["seq"], "problem": mismatch and mismatch.detail})
    return 0 if mismatch is None else 1


def _head_json(path: Path) -> dict[str, Any]:
    """A head saved from GET /audit/head, `head`, or an export's first line."""
    data: dict[str, Any] = json.loads(path.read_text().splitlines()[0])
    head: dict[str, Any] = data.get("head", data)
    return head


def _keygen(_: argparse.Namespace) -> int:
    secret = heads.new_secret()
    public = heads.Signer.from_secret(secret).public_key
    print(f"SAMVERKAN_AUDIT_SIGNING_KEY={secret}")
    print(f"# public key (give it to auditors): {base64.b64encode(public).decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
