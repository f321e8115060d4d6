"""Intake of rows from school admin systems: a CSV file streamed in chunks, or a JSON list.

Rows are parsed and validated as the bytes arrive, so a large export never sits whole in
memory. Each row comes out good (a validated record, with its line) or bad (its line and why);
a bad row never stops the rest. Reasons name the column and the rule, never the row's values.
No I/O of its own: it reads the chunks it is handed.
"""

import csv
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from services.kit.refusals import Refused
from services.school.early_warning.domain import StudentRecord

MAX_LINE_BYTES = 64 * 1024
_COLUMN_NAME = re.compile(r"^[a-z][a-z_]{0,39}$")


@dataclass(frozen=True)
class GoodRow:
    """A valid record and where it came from (CSV line, or position in a JSON list from 1)."""

    line: int
    record: StudentRecord


@dataclass(frozen=True)
class BadRow:
    """A row that was not imported, where it was, and why."""

    line: int
    reason: str


Row = GoodRow | BadRow


class HeaderRefused(Refused):
    """The file cannot be read at all: no header, or columns that are missing or unknown."""

    def __init__(self, detail: str) -> None:
        super().__init__("bad_header", detail)


def validate_record(
    line: int, data: Mapping[str, Any], model: type[StudentRecord], today: date
) -> Row:
    """`data` as a record of `model`, or the reason it is not one."""
    try:
        return GoodRow(line, model.model_validate(data, context={"today": today}))
    except ValidationError as exc:
        return BadRow(line, _describe(exc))


def validate_records(
    items: Iterable[Mapping[str, Any]], model: type[StudentRecord], today: date
) -> Iterable[Row]:
    """Records sent as a JSON list, numbered from 1."""
    for position, item in enumerate(items, start=1):
        yield validate_record(position, item, model, today)


async def read_csv(
    chunks: AsyncIterable[bytes],
    model: type[StudentRecord],
    today: date,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> AsyncIterator[Row]:
    """Rows of a CSV file (comma or semicolon separated, UTF-8, header first) as they arrive.

    Raises HeaderRefused before yielding anything if the header does not fit `model`.
    """
    columns: list[str] | None = None
    delimiter = ","
    async for number, raw in _lines(chunks, max_line_bytes):
        if raw is None:
            if columns is None:
                raise HeaderRefused(f"the header line is longer than {max_line_bytes} bytes")
            yield BadRow(number, f"the line is longer than {max_line_bytes} bytes")
            continue
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            if columns is None:
                raise HeaderRefused("the header line is not UTF-8") from None
            yield BadRow(number, "the line is not UTF-8")
            continue
        if columns is None:
            text = text.removeprefix("\ufeff")
            if text.strip():
                columns, delimiter = _header(text, model)
            continue
        if text.strip():
            yield _row(number, text, columns, delimiter, model, today)
    if columns is None:
        raise HeaderRefused("the file is empty: no header line")


async def _lines(
    chunks: AsyncIterable[bytes], max_line_bytes: int
) -> AsyncIterator[tuple[int, bytes | None]]:
    """(line number, bytes without the newline), or None for a line that is too long."""
    buffer = bytearray()
    too_long = False
    number = 0
    async for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            number += 1
            if not too_long:
                buffer += chunk[start:end]
            yield number, None if too_long or len(buffer) > max_line_bytes else bytes(buffer)
            buffer.clear()
            too_long = False
            start = end + 1
        if not too_long:
            buffer += chunk[start:]
            # Past the limit the rest of the line is skipped, not kept.
            if len(buffer) > max_line_bytes:
                too_long = True
                buffer.clear()
    if buffer or too_long:
        yield number + 1, None if too_long else bytes(buffer)


def _header(text: str, model: type[StudentRecord]) -> tuple[list[str], str]:
    # Swedish spreadsheet exports often separate with semicolons.
    delimiter = ";" if text.count(";") > text.count(",") else ","
    columns = [c.strip().lower() for c in next(csv.reader([text], delimiter=delimiter))]
    known = set(model.model_fields)
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    unknown = [c for c in columns if c not in known]
    if unknown:
        # Refused rather than ignored: an extra column may carry what must not be kept here.
        # Only names are echoed; anything else may be a data row standing in for the header.
        if not all(_COLUMN_NAME.match(c) for c in unknown):
            raise HeaderRefused("the first line is not a header of known columns")
        raise HeaderRefused(f"unexpected columns: {', '.join(unknown)}")
    if len(set(columns)) != len(columns):
        raise HeaderRefused("a column appears twice")
    missing = sorted(required - set(columns))
    if missing:
        raise HeaderRefused(f"missing columns: {', '.join(missing)}")
    return columns, delimiter


def _row(
    number: int,
    text: str,
    columns: list[str],
    delimiter: str,
    model: type[StudentRecord],
    today: date,
) -> Row:
    try:
        fields = next(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return BadRow(number, f"not CSV: {exc}")
    if len(fields) != len(columns):
        return BadRow(number, f"expected {len(columns)} fields, found {len(fields)}")
    data = {c: v for c, v in zip(columns, fields, strict=True) if v.strip()}
    return validate_record(number, data, model, today)


def _describe(exc: ValidationError) -> str:
    reasons = []
    for error in exc.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        reasons.append(f"{where}: {message}" if where else message)
    return "; ".join(reasons)
