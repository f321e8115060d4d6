"""Bar charts as SVG, written by hand: a project board opens them in any browser, and they need
no plotting library. A suppressed value has no bar, only "..". No I/O."""

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from services.reporting.domain import SUPPRESSED

# Okabe-Ito colours: told apart with the common kinds of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
HEIGHT, TOP, BOTTOM, LEFT = 380, 56, 300, 64
NOTE_CHARACTERS = 80
BAR, GAP, CHARACTER = 18, 26, 7


@dataclass(frozen=True)
class Series:
    """One coloured set of bars; None is a suppressed value."""

    name: str
    values: tuple[float | None, ...]


def bar_chart(
    title: str, groups: Sequence[str], series: Sequence[Series], unit: str, note: str
) -> str:
    """Grouped bars: one group per label in `groups`, one bar per series in each."""
    # Wide enough for the bars and for each group's label under them.
    group_width = max(len(series) * BAR, CHARACTER * max(map(len, groups), default=0)) + GAP
    width = max(520, LEFT + 24 + len(groups) * group_width, LEFT + 10 * len(title))
    shown = [v for s in series for v in s.values if v is not None]
    ticks = _ticks(max(shown, default=0.0))
    top = ticks[-1]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}"'
        f' viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{escape(title)}"'
        ' font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="28" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    parts += _axis(width, ticks, unit)
    for g, group in enumerate(groups):
        x0 = LEFT + 12 + g * group_width
        first_bar = x0 + (group_width - GAP - len(series) * BAR) / 2
        for s, one in enumerate(series):
            parts += _bar(first_bar + s * BAR, one.values[g], top, PALETTE[s % len(PALETTE)])
        centre = x0 + (group_width - GAP) / 2
        parts.append(
            f'<text x="{centre:.1f}" y="{BOTTOM + 18}" text-anchor="middle">{escape(group)}</text>'
        )
    parts += _legend(series)
    for i, line in enumerate(reversed(textwrap.wrap(note, NOTE_CHARACTERS))):
        parts.append(f'<text x="12" y="{HEIGHT - 8 - 14 * i}" font-size="11">{escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def format_value(value: float) -> str:
    """A value as a label: at most two decimals, none when whole."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _ticks(largest: float) -> list[float]:
    """Round values from 0 up to at least `largest`, at most six of them."""
    if largest <= 0:
        return [0.0, 1.0]
    magnitude = 10 ** math.floor(math.log10(largest / 5))
    step = next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude * 5 >= largest)
    return [step * i for i in range(math.ceil(largest / step) + 1)]


def _axis(width: int, ticks: list[float], unit: str) -> list[str]:
    parts = [
        f'<text x="12" y="{TOP - 12}" font-size="11">{escape(unit)}</text>',
        f'<line x1="{LEFT}" y1="{BOTTOM}" x2="{width - 12}" y2="{BOTTOM}" stroke="#333"/>',
    ]
    for value in ticks:
        y = BOTTOM - (BOTTOM - TOP) * value / ticks[-1]
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width - 12}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{format_value(value)}</text>'
        )
    return parts


def _bar(x: float, value: float | None, top: float, colour: str) -> list[str]:
    centre = x + BAR / 2 - 1
    if value is None:
        return [
            f'<text x="{centre:.1f}" y="{BOTTOM - 4}" text-anchor="middle"'
            f' font-size="11">{SUPPRESSED}</text>'
        ]
    height = (BOTTOM - TOP) * value / top
    return [
        f'<rect x="{x:.1f}" y="{BOTTOM - height:.1f}" width="{BAR - 2}" height="{height:.1f}"'
        f' fill="{colour}"/>',
        f'<text x="{centre:.1f}" y="{BOTTOM - height - 4:.1f}" text-anchor="middle"'
        f' font-size="10">{format_value(value)}</text>',
    ]


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], LEFT
    for s, one in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{HEIGHT - 52}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{HEIGHT - 42}">{escape(one.name)}</text>')
        x += 28 + 7 * len(one.name)
    return parts
