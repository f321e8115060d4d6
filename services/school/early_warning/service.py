"""Use cases of early warning: take in records, keep risk signals in step with them, assign a
case manager (samordnare), and turn a signal into a referral."""

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel, Field

from contracts import LegalBasis, utc_now
from contracts.codes import DataCategory, ReferralReason, RiskIndicator
from contracts.events import ReferralRequested
from services.features.handoffs.domain import Handoff
from services.features.handoffs.service import HandoffDesk
from services.features.subjects import repository as subjects
from services.kit.database import Connection
from services.school.early_warning import repository as repo
from services.school.early_warning.domain import (
    REFERRAL_DEFAULTS,
    EarlyWarningRefused,
    Reading,
    SignalChange,
    Thresholds,
    assess,
    signal_changes,
)
from services.school.early_warning.intake import BadRow, GoodRow, Row

SCHOOL_TIME = ZoneInfo("Europe/Stockholm")
MAX_REPORTED_BAD_ROWS = 1000
# Signals of one school change under a lock of their own (first key: this feature).
_SIGNAL_LOCK_CLASS = 7301


class BadRowView(BaseModel):
    """A row not imported: its line (for JSON, its position from 1) and why."""

    line: int
    reason: str


class SignalTally(BaseModel):
    """How the risk signals changed."""

    students_assessed: int = 0
    raised: int = 0
    changed: int = 0
    cleared: int = 0

    def count(self, change: SignalChange) -> None:
        """Add one change."""
        name = {"raise": "raised", "change": "changed", "clear": "cleared"}[change.action]
        setattr(self, name, getattr(self, name) + 1)


class ImportReport(BaseModel):
    """What an import did: rows read, kept and refused (by line, with the reason)."""

    kind: str
    rows_read: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    bad_rows: list[BadRowView] = Field(default_factory=list)
    signals: SignalTally = Field(default_factory=SignalTally)


@dataclass
class EarlyWarningDesk:
    """Early warning for the schools one service hosts."""

    defaults: Thresholds
    batch_size: int = 500
    clock: Callable[[], datetime] = field(default=utc_now)

    def today(self) -> date:
        """The school day it is now, in Swedish time."""
        return self.clock().astimezone(SCHOOL_TIME).date()

    async def import_rows(
        self,
        pool: asyncpg.Pool,
        school: str,
        kind: str,
        rows: AsyncIterable[Row] | Iterable[Row],
    ) -> ImportReport:
        """Keep the good rows (in batches, each in its own transaction), report the bad ones,
        then reassess the students the good rows were about."""
        report = ImportReport(kind=kind)
        batch: list[GoodRow] = []
        touched: set[str] = set()
        try:
            async for row in _each(rows):
                report.rows_read += 1
                if isinstance(row, BadRow):
                    _reject(report, row)
                    continue
                batch.append(row)
                if len(batch) >= self.batch_size:
                    await self._save(pool, school, batch, report, touched)
                    batch = []
            await self._save(pool, school, batch, report, touched)
        finally:
            # What was kept is assessed even when an upload breaks off half-way.
            report.signals = await self.reassess(pool, school, touched)
        report.bad_rows.sort(key=lambda b: b.line)
        del report.bad_rows[MAX_REPORTED_BAD_ROWS:]
        return report

    async def _save(
        self,
        pool: asyncpg.Pool,
        school: str,
        batch: list[GoodRow],
        report: ImportReport,
        touched: set[str],
    ) -> None:
        if not batch:
            return
        async with pool.acquire() as conn, conn.transaction():
            linked = await repo.link_students(
                conn, school, [(r.record.student_id, r.record.subject) for r in batch]
            )
            kept = []
            for row in batch:
                found = linked.get(row.record.student_id)
                if found == row.record.subject:
                    kept.append(row.record)
                elif found is None:
                    _reject(report, BadRow(row.line, "subject is linked to another student_id"))
                else:
                    _reject(report, BadRow(row.line, "student_id is linked to another subject"))
            await repo.save_records(conn, school, kept)
        report.rows_imported += len(kept)
        touched.update(r.student_id for r in kept)

    async def thresholds(self, conn: Connection, school: str) -> Thresholds:
        """The school's thresholds, or the service's defaults."""
        return await repo.thresholds(conn, school) or self.defaults

    async def set_thresholds(
        self, pool: asyncpg.Pool, school: str, chosen: Thresholds
    ) -> SignalTally:
        """Set the school's thresholds and reassess every student against them."""
        async with pool.acquire() as conn:
            await repo.save_thresholds(conn, school, chosen, self.clock())
            students = await repo.student_ids(conn, school)
        return await self.reassess(pool, school, students)

    async def reassess(
        self, pool: asyncpg.Pool, school: str, student_ids: Iterable[str]
    ) -> SignalTally:
        """Raise, change or clear the students' signals to match their indicators now."""
        tally = SignalTally()
        ids = sorted(student_ids)
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))", _SIGNAL_LOCK_CLASS, school
                )
                chosen = await self.thresholds(conn, school)
                open_signals = await repo.open_signals(conn, school, chunk)
                now = self.clock()
                for facts in await repo.facts(conn, school, chunk, chosen.window_days):
                    tally.students_assessed += 1
                    readings = assess(facts, chosen)
                    for change in signal_changes(open_signals.get(facts.student_id, []), readings):
                        await _apply(conn, school, facts.student_id, change, now)
                        tally.count(change)
        return tally

    async def readings(self, conn: Connection, school: str, student_id: str) -> list[Reading]:
        """The student's indicators now."""
        chosen = await self.thresholds(conn, school)
        found = await repo.facts(conn, school, [student_id], chosen.window_days)
        if not found:
            raise EarlyWarningRefused("not_found", f"{school} has no student {student_id}")
        return assess(found[0], chosen)

    async def assign_case_manager(
        self, conn: Connection, school: str, student_id: str, case_manager: str
    ) -> None:
        """Make `case_manager` the student's samordnare."""
        if not await repo.assign_case_manager(conn, school, student_id, case_manager, self.clock()):
            raise EarlyWarningRefused("not_found", f"{school} has no student {student_id}")

    async def refer(
        self,
        conn: Connection,
        desk: HandoffDesk,
        school: str,
        signal_id: UUID,
        receiver: str,
        legal_basis: LegalBasis,
        respond_within: timedelta,
        reason: ReferralReason | None = None,
        data_categories: tuple[DataCategory, ...] | None = None,
        protected_identity: bool = False,
    ) -> Handoff:
        """Send a referral about the student of an open signal, in the caller's transaction;
        the signal remembers it. What it shares defaults to what the indicator is about."""
        signal = await repo.signal(conn, school, signal_id, lock=True)
        if signal is None:
            raise EarlyWarningRefused("not_found", f"{school} has no signal {signal_id}")
        if signal["cleared_at"] is not None:
            raise EarlyWarningRefused("signal_cleared", "the signal was cleared; nothing to refer")
        default_reason, default_categories = REFERRAL_DEFAULTS[RiskIndicator(signal["indicator"])]
        subject = signal["subject"]
        handoff = await desk.open(
            conn,
            ReferralRequested,
            sender=school,
            receiver=receiver,
            subject=subject,
            legal_basis=legal_basis,
            respond_within=respond_within,
            reason=reason or default_reason,
            data_categories=data_categories or default_categories,
            protected_identity=protected_identity or await subjects.is_protected(conn, subject),
        )
        await repo.link_referral(conn, signal_id, handoff.referral_id)
        return handoff


async def _apply(
    conn: Connection, school: str, student_id: str, change: SignalChange, now: datetime
) -> None:
    if change.action == "raise":
        await repo.raise_signal(conn, school, student_id, change.reading, now)
    else:
        assert change.signal_id is not None
        await repo.update_signal(
            conn, change.signal_id, change.reading, now, clear=change.action == "clear"
        )


def _reject(report: ImportReport, row: BadRow) -> None:
    report.rows_rejected += 1
    report.bad_rows.append(BadRowView(line=row.line, reason=row.reason))
    # Keep memory bounded on a file full of errors: only the first lines are reported.
    if len(report.bad_rows) > 2 * MAX_REPORTED_BAD_ROWS:
        report.bad_rows.sort(key=lambda b: b.line)
        del report.bad_rows[MAX_REPORTED_BAD_ROWS:]


async def _each(rows: AsyncIterable[Row] | Iterable[Row]) -> AsyncIterator[Row]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row
