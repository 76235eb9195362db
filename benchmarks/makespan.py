"""Makespan of the real dispatcher over a heavy-tailed suite, against its lower bound.

1,500 simulated tests with Pareto-distributed durations (many short, a few very long) run through
hypertest's Dispatcher at concurrency 100; each unit is a stand-in invocation that sleeps for a unit's
start-up plus its tests' drawn durations (time scaled down by --scale). Three ways side by side:

* without history: units in discovery order (the first run of a suite);
* with history: longest first, from the past durations (every later run);
* with history and `granularity: auto`: short tests of one file packed, then longest first.

Printed per way: the wall time, its ratio to the lower bound max(longest unit, total / concurrency) of
that plan, the start-ups paid, and the billed time (the sum of the invocations' times, what Lambda
bills). Targets (issue 12): <= 1.05x the bound with history, <= 1.3x without.

Usage: python benchmarks/makespan.py [--scale 0.02] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypertest.core.dispatcher import Dispatcher, keep_order  # noqa: E402
from hypertest.core.durations import longest_first  # noqa: E402
from hypertest.core.packing import UNIT_OVERHEAD_MS, pack_plan  # noqa: E402
from hypertest.core.plan import Phase, RunPlan  # noqa: E402
from hypertest.core.suite import TestCase, Unit, make_unit_id  # noqa: E402

TESTS = 1500
CONCURRENCY = 100
TESTS_PER_FILE = 25


def suite(seed: int) -> tuple[RunPlan, dict[str, int]]:
    """One unit per test, and each test's drawn duration in ms (a Pareto tail, capped at two minutes)."""
    draw = random.Random(seed)
    units, durations = [], {}
    for index in range(TESTS):
        test = TestCase(id=f"t{index}", project="chromium", file=f"f{index // TESTS_PER_FILE}.spec.ts", line=1,
                        column=1, title_path=(f"test {index}",), tags=(), expected_status="passed", serial_group=None)
        durations[test.id] = int(min(120_000, 200 + draw.paretovariate(1.3) * 300))
        units.append(Unit(id=make_unit_id(index, (test,)), tests=(test,)))
    return RunPlan(phases=(Phase(units=tuple(units)),)), durations


def unit_ms(unit: Unit, durations: dict[str, int]) -> int:
    """What one invocation of unit takes: a start-up, then its tests."""
    return UNIT_OVERHEAD_MS + sum(durations[test.id] for test in unit.tests)


def measure(name: str, plan: RunPlan, durations: dict[str, int], ordered: bool, scale: float) -> None:
    """Run plan through the dispatcher with sleeping invocations and print the way's figures."""
    units = plan.units
    def execute(unit: Unit) -> dict[str, str]:
        time.sleep(unit_ms(unit, durations) * scale / 1000)
        return {"status": "ok"}

    dispatcher = Dispatcher(execute, CONCURRENCY, ordering=longest_first(durations) if ordered else keep_order)
    began = time.monotonic()
    dispatcher.run(units)
    wall_s = (time.monotonic() - began) / scale
    costs = [unit_ms(unit, durations) for unit in units]
    bound_s = max(*costs, sum(costs) / CONCURRENCY) / 1000
    print(f"| {name} | {len(units)} | {wall_s:.1f} s | {bound_s:.1f} s | **{wall_s / bound_s:.2f}** | "
          f"{sum(costs) / 1000 / TESTS:.2f} s |", flush=True)


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.02, help="simulated seconds per real second (default 0.02)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    plan, durations = suite(args.seed)
    packed = pack_plan(plan, durations, CONCURRENCY).plan
    print(f"{TESTS} simulated tests (Pareto, median {sorted(durations.values())[TESTS // 2]} ms, longest "
          f"{max(durations.values()) / 1000:.0f} s), concurrency {CONCURRENCY}, {UNIT_OVERHEAD_MS} ms start-up per "
          f"unit, time x{args.scale}\n")
    print("| plan and order | units | makespan | lower bound | ratio | billed per test |")
    print("|---|---|---|---|---|---|")
    measure("one test per unit, discovery order (no history)", plan, durations, False, args.scale)
    measure("one test per unit, longest first (history)", plan, durations, True, args.scale)
    measure("granularity auto, longest first (history)", packed, durations, True, args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
