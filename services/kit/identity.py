"""Personnummer and samordningsnummer: validation at the HTTP boundary and the subject
pseudonym. No I/O.

Only the pseudonym travels on the bus. It is an HMAC-SHA256 under a key that never leaves the
agencies' settings: a plain hash would not do, since the roughly 10^8 possible numbers can be
hashed in seconds.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

_FORMAT = re.compile(r"^(\d{2})?(\d{6})([-+]?)(\d{4})$")


class InvalidPersonnummer(ValueError):
    """The number is not a valid personnummer or samordningsnummer; says which rule failed."""


@dataclass(frozen=True)
class PersonalIdentity:
    """A validated number in its canonical 12-digit form."""

    number: str  # YYYYMMDDNNNC
    birth_date: date
    coordination: bool  # samordningsnummer (day + 60)


def luhn_ok(digits: str) -> bool:
    """Whether the last digit is the Luhn check digit of the others."""
    total = 0
    for i, ch in enumerate(digits[:-1]):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10 == int(digits[-1])


def _century(yymmdd_year: int, separator: str, today: date) -> int:
    # Ten digits: the latest century that puts the birth date not in the future;
    # '+' means the person is 100 or older.
    year = today.year - today.year % 100 + yymmdd_year
    if year > today.year:
        year -= 100
    return year - 100 if separator == "+" else year


def parse_personnummer(text: str, today: date | None = None) -> PersonalIdentity:
    """Validate a personnummer or samordningsnummer (10 or 12 digits, optional - or +)."""
    today = today or date.today()
    match = _FORMAT.match(text.strip())
    if not match:
        raise InvalidPersonnummer("format: expected YYMMDD-NNNC or YYYYMMDDNNNC")
    century, yymmdd, separator, tail = match.groups()
    year_two, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if century is not None:
        year = int(century + yymmdd[:2])
    else:
        year = _century(year_two, separator, today)
    coordination = day > 60
    try:
        born = date(year, month, day - 60 if coordination else day)
    except ValueError:
        raise InvalidPersonnummer(f"date: {yymmdd} is not a real date") from None
    if born > today:
        raise InvalidPersonnummer("date: birth date is in the future")
    if not luhn_ok(yymmdd + tail):
        raise InvalidPersonnummer("check digit: the Luhn check digit does not match")
    return PersonalIdentity(f"{year:04d}{yymmdd[2:]}{tail}", born, coordination)


class Pseudonymizer:
    """Turns a validated number into the subject reference used on the bus."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the pseudonym key must be at least 32 bytes")
        self._key = key

    def subject_of(self, identity: PersonalIdentity) -> str:
        """The pseudonymous subject reference (64 hex characters)."""
        return hmac.new(self._key, identity.number.encode(), hashlib.sha256).hexdigest()
