"""Percentiles of measured samples."""

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples: Sequence[float]) -> dict[str, float | None]:
    """p50, p95, p99 and max, rounded to 0.1; None for each when there are no samples (JSON
    has no NaN)."""
    return {
        name: round(percentile(samples, q), 1) if samples else None
        for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    }
