"""Medians, spreads and percentiles of repeated measurements."""

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """The median of repeated runs of one measurement, with its spread."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Figure":
        """Summarise the values of repeated runs."""
        if not values:
            raise ValueError("a figure needs at least one measured value")
        return cls(
            median=statistics.median(values),
            low=min(values),
            high=max(values),
            runs=len(values),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the figure as JSON-ready values."""
        return asdict(self)

    def text(self, digits: int = 0) -> str:
        """Format as ``median (low-high)``."""
        return (
            f"{self.median:,.{digits}f} "
            f"({self.low:,.{digits}f}-{self.high:,.{digits}f})"
        )


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile of values (fraction from 0 to 1)."""
    if not values:
        raise ValueError("a percentile needs at least one value")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def latency_percentiles(latencies: Sequence[float]) -> dict[str, float]:
    """Return p50, p95 and p99 of latencies in seconds, as milliseconds."""
    return {
        name: percentile(latencies, fraction) * 1000
        for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
    }
