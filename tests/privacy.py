"""Finds personnummer and samordningsnummer in text: what must never leave an agency."""

import re
from collections.abc import Iterable

from services.kit.identity import InvalidPersonnummer, parse_personnummer

# 10 or 12 digits, optionally with - or + before the last four, standing alone.
_CANDIDATE = re.compile(r"(?<![\w-])(\d{6}|\d{8})([-+]?)(\d{4})(?!\w)")


def personnummer_in(texts: Iterable[str]) -> list[str]:
    """Every valid (real date, correct check digit) number found in `texts`."""
    found = []
    for text in texts:
        for match in _CANDIDATE.finditer(text):
            try:
                parse_personnummer(match.group(0))
            except InvalidPersonnummer:
                continue
            found.append(match.group(0))
    return found
