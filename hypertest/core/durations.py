"""Past test durations (from the history: core/history.py), so the dispatcher can start the longest units first."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from hypertest.core.dispatcher import Ordering
from hypertest.core.suite import Unit


def longest_first(durations: Mapping[str, int]) -> Ordering:
    """An ordering policy: units by their expected time, longest first (unknown tests count as the median)."""
    typical = int(statistics.median(durations.values())) if durations else 0

    def order(units: Sequence[Unit]) -> list[Unit]:
        def expected(unit: Unit) -> int:
            return sum(durations.get(test.id, typical) for test in unit.tests)

        return sorted(units, key=expected, reverse=True)  # stable: discovery order among equals

    return order
